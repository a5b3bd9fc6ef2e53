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

/// An entity collection that is not a list (`"sessions": 5`) makes the whole tenant one
/// `input` error today, losing every other rule and subject. The contract lists the causes
/// of an unreadable tenant (bad syntax, non-object root, invalid UTF-8, limits) and makes a
/// type mismatch in data an evaluation error of the rules that read it (language.md §5),
/// as it does for elements that are not objects (§9.7). Not fixed here (the decoder); the
/// generator leaves such collections out (`Known::non_list_collections`) until it is.
#[test]
#[ignore = "open: a collection that is not a list is a tenant-wide input error"]
fn differential_regression_a_collection_that_is_not_a_list_is_an_evaluation_error() {
    let t = r#"{"id": "t", "users": [{"id": "u1", "sessions": 5}, {"id": "u2"}]}"#;
    let p = "policy \"p\"\nrule a: count(user.sessions) >= 0\nrule b: user.id != \"\"\n";
    let s = crate::support::statuses(p, t);
    assert_eq!(s.len(), 4, "{s:?}");
    assert!(s[0].starts_with("a users[0] error"), "{s:?}");
    assert_eq!(&s[1..], ["a users[1] pass", "b users[0] pass", "b users[1] pass"]);
}
