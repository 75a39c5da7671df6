//! The hidden test hook behind `binding.__forcePanic`: not part of the
//! public API (index.js does not export it), used by the no-abort tests.

use super::errors::invalid_arg;
use crate::fault::{self, Site};
use napi_derive::napi;

/// @internal Test hook: makes the next pass through the named code path
/// panic once (see `src/fault.rs`).
#[napi(js_name = "__forcePanic", catch_unwind)]
pub fn force_panic(site: String) -> napi::Result<()> {
    let site = Site::from_name(&site)
        .ok_or_else(|| invalid_arg(format!("no fault site named '{site}'")))?;
    fault::arm(site);
    Ok(())
}
