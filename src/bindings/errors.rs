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

/// JS numbers that name something (ids, counts) must be exact non-negative
/// integers within JavaScript's safe range.
pub fn to_integer(v: f64, what: &str) -> napi::Result<u64> {
    if v.is_finite() && v >= 0.0 && v.fract() == 0.0 && v <= 9_007_199_254_740_992.0 {
        Ok(v as u64)
    } else {
        Err(invalid_arg(format!(
            "{what} must be a non-negative integer, got {v}"
        )))
    }
}

/// Measurements (bytes, milliseconds) may arrive fractional; they truncate.
pub fn to_measure(v: f64, what: &str) -> napi::Result<u64> {
    if !v.is_finite() || v < 0.0 {
        return Err(invalid_arg(format!(
            "{what} must be a finite non-negative number, got {v}"
        )));
    }
    // `as` saturates above u64::MAX.
    Ok(v as u64)
}
