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
/// `input` error, by decision (README, "Decisions where the contract was silent"): the
/// entities in it are the subjects of rules, and a collection that cannot be enumerated
/// would otherwise drop them without a word, a silent pass. The reference evaluator models
/// evaluation only, so the generator leaves such collections out
/// (`Known::non_list_collections`); this test pins what the engine does instead.
#[test]
fn differential_regression_a_collection_that_is_not_a_list_makes_the_tenant_unreadable() {
    let t = r#"{"id": "t", "users": [{"id": "u1", "sessions": 5}, {"id": "u2"}]}"#;
    let p = "policy \"p\"\nrule a: count(user.sessions) >= 0\nrule b: user.id != \"\"\n";
    let engine = tenet::engine::Engine::builder(tenet::model::Model::erp())
        .policy(tenet::source::SourceFile::new("p.tenet", p))
        .build()
        .expect("the policy checks");
    let e = engine.decode("t.json", tenet::snapshot::Content::Json(t.as_bytes().to_vec())).expect_err("unreadable");
    assert!(e.message.contains("`users[0].sessions` is not a list (found a number)"), "{}", e.message);
}
