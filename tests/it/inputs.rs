//! Tenant input as the contract types it (tenant-model.md §2, language.md §5).

use crate::support::statuses;

/// Issue 8, defect 12: `"id": 5` used to be read as the string `"5"`, so an integer key
/// matched a string reference. Keys and `ref<K>` are strings (tenant-model.md §2), and a
/// mismatch of types in data is an evaluation error for the rules that read it (language.md
/// §5): an integer key is no key, an integer reference resolves to nothing.
#[test]
fn integer_keys_and_references_are_type_mismatches() {
    let t = r#"{"id": "t",
        "roles": [{"id": 1, "2fa": true}, {"id": "2", "2fa": true}],
        "users": [{"id": 5, "roles": ["2"]}, {"id": "6", "roles": [2]}, {"id": "7", "roles": ["1"]}],
        "integrations": [{"id": "i1", "integration_user": 5}, {"id": "i2", "integration_user": "5"}]}"#;
    let p = r#"policy "p"
        rule key: user.id != "5"
        rule refs: all(user.roles: role.2fa)
        rule join: integration.integration_user.email == "x"
    "#;
    assert_eq!(
        statuses(p, t),
        vec![
            "key users[0] error: field `user.id` is an int (5), expected string",
            "key users[1] pass",
            "key users[2] pass",
            "refs users[0] pass",
            "refs users[1] error: field `user.roles[0]` is an int (2), expected ref<role>",
            // Role `1` has no string key, so nothing answers to "1".
            "refs users[2] error: dangling reference user.roles[0] = \"1\"",
            "join integrations[0] error: field `integration.integration_user` is an int (5), expected ref<user>",
            "join integrations[1] error: dangling reference integration.integration_user = \"5\"",
        ]
    );
}
