//! Engine defects the differential test found, each as a focused test.

/// A policy nested only a few levels deep was parsed and checked on the caller's stack, and
/// in a debug build (the test suite's) six nested parentheses overflowed a 2 MiB thread
/// (a test thread, a rayon worker): the process aborted. Found when shrinking a failure.
#[test]
fn differential_regression_moderately_nested_policy_checks_on_a_small_stack() {
    let mut e = String::from("true");
    for _ in 0..12 {
        e = format!("(not (not {e}))");
    }
    let policy = format!("policy \"p\"\nrule r: {e}\n");
    let t = std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(move || crate::support::statuses(&policy, r#"{"id": "t"}"#))
        .expect("spawn");
    assert_eq!(t.join().expect("no overflow"), vec!["r tenant pass"]);
}
