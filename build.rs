fn main() {
    // Only the addon build needs Node's link settings; the pure core does not.
    if std::env::var_os("CARGO_FEATURE_NODE").is_some() {
        napi_build::setup();
    }
}
