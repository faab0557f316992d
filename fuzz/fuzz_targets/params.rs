//! The strict form/query parser (S51, S52), differential against `url::form_urlencoded`:
//! whatever we accept must decode to exactly what the lenient standard parser sees, with no
//! repeated name, no NUL and valid UTF-8 — so a proxy or framework reading the same bytes
//! can't see different parameters than we do.
#![no_main]

use lanyard_web::kit::params::Params;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(params) = Params::parse(data) else {
        return;
    };
    let standard: Vec<(String, String)> = url::form_urlencoded::parse(data)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    assert_eq!(params.0, standard);
    for (i, (name, value)) in params.0.iter().enumerate() {
        assert!(!name.contains('\0') && !value.contains('\0'));
        assert!(params.0[..i].iter().all(|(n, _)| n != name));
    }
});
