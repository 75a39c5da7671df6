//! Core errors cross into JS as `"<CODE>: <message>"`; the JS facade moves the
//! prefix into `err.code`. One convention serves sync calls and Promise
//! rejections from `AsyncTask`, whose errors can only carry a napi `Status`.

use crate::analyzer::SnapshotError;
use std::any::Any;

pub fn js_error(code: &str, message: impl std::fmt::Display) -> napi::Error {
    napi::Error::new(napi::Status::GenericFailure, format!("{code}: {message}"))
}

pub fn from_core(e: SnapshotError) -> napi::Error {
    js_error(e.code(), e)
}

pub fn invalid_arg(message: impl std::fmt::Display) -> napi::Error {
    js_error("ERR_INVALID_ARG", message)
}

/// A panic on a libuv thread would abort Node; callers catch it and reject.
pub fn from_panic(payload: Box<dyn Any + Send>) -> napi::Error {
    let text = payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into());
    js_error("ERR_INTERNAL", format!("leakwatch internal error: {text}"))
}

/// Runs work that must not unwind into napi.
pub fn guarded<T>(f: impl FnOnce() -> napi::Result<T>) -> napi::Result<T> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(p) => Err(from_panic(p)),
    }
}
