//! `tenet lsp` driven over standard input and output, as an editor does.

use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(60);

struct Client {
    child: Child,
    stdin: ChildStdin,
    rx: mpsc::Receiver<Value>,
    next_id: i64,
    /// Notifications received while waiting for something else.
    pending: Vec<Value>,
}

impl Client {
    fn start(args: &[&str]) -> Client {
        let mut child = Command::new(env!("CARGO_BIN_EXE_tenet"))
            .arg("lsp")
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdin = child.stdin.take().unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut r = BufReader::new(stdout);
            loop {
                let mut len = 0usize;
                loop {
                    let mut line = String::new();
                    if r.read_line(&mut line).unwrap_or(0) == 0 {
                        return;
                    }
                    let line = line.trim_end();
                    if line.is_empty() {
                        break;
                    }
                    if let Some(v) = line.strip_prefix("Content-Length: ") {
                        len = v.parse().unwrap();
                    }
                }
                let mut body = vec![0; len];
                if r.read_exact(&mut body).is_err() {
                    return;
                }
                if tx.send(serde_json::from_slice(&body).unwrap()).is_err() {
                    return;
                }
            }
        });
        Client { child, stdin, rx, next_id: 0, pending: Vec::new() }
    }

    fn send_raw(&mut self, body: &[u8]) {
        write!(self.stdin, "Content-Length: {}\r\n\r\n", body.len()).unwrap();
        self.stdin.write_all(body).unwrap();
        self.stdin.flush().unwrap();
    }

    fn send(&mut self, msg: Value) {
        self.send_raw(msg.to_string().as_bytes());
    }

    fn notify(&mut self, method: &str, params: Value) {
        self.send(json!({"jsonrpc": "2.0", "method": method, "params": params}));
    }

    /// Sends a request and returns the whole response (`result` or `error`).
    fn request(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        self.send(json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}));
        self.response(json!(id))
    }

    fn response(&mut self, id: Value) -> Value {
        loop {
            let msg = self.rx.recv_timeout(WAIT).expect("the server answered in time");
            if msg.get("method").is_some() && msg.get("id").is_none() {
                self.pending.push(msg);
            } else if msg["id"] == id {
                return msg;
            }
        }
    }

    fn notification(&mut self, method: &str) -> Value {
        if let Some(i) = self.pending.iter().position(|m| m["method"] == method) {
            return self.pending.remove(i);
        }
        loop {
            let msg = self.rx.recv_timeout(WAIT).expect("the server notified in time");
            if msg["method"] == method {
                return msg;
            }
        }
    }

    fn initialize(&mut self, options: Value) {
        let r = self.request(
            "initialize",
            json!({"processId": null, "rootUri": null, "capabilities": {}, "initializationOptions": options}),
        );
        assert!(r["result"]["capabilities"]["hoverProvider"].as_bool().unwrap(), "{r}");
        self.notify("initialized", json!({}));
    }

    fn open(&mut self, uri: &str, text: &str) -> Value {
        self.notify(
            "textDocument/didOpen",
            json!({"textDocument": {"uri": uri, "languageId": "tenet", "version": 1, "text": text}}),
        );
        self.notification("textDocument/publishDiagnostics")
    }

    fn at(&mut self, method: &str, uri: &str, line: u32, character: u32) -> Value {
        self.request(method, json!({"textDocument": {"uri": uri}, "position": {"line": line, "character": character}}))
    }

    fn stop(mut self) -> i32 {
        let r = self.request("shutdown", Value::Null);
        assert_eq!(r["result"], Value::Null, "{r}");
        self.notify("exit", Value::Null);
        self.child.wait().unwrap().code().unwrap()
    }
}

const BROKEN: &str = "policy \"p\"\nrule a: role.twofa\n";
const URI: &str = "file:///nonexistent/lsp-test/p.tenet";

#[test]
fn a_broken_policy_gets_the_diagnostic_with_its_code_range_and_fix() {
    let mut c = Client::start(&[]);
    c.initialize(json!({"diagnosticUrl": "https://docs.invalid/diagnostics/{code}.md"}));
    let n = c.open(URI, BROKEN);
    let diags = n["params"]["diagnostics"].as_array().unwrap();
    assert_eq!(diags.len(), 1, "{n}");
    let d = &diags[0];
    assert_eq!(d["code"], "T011");
    assert_eq!(d["range"], json!({"start": {"line": 1, "character": 13}, "end": {"line": 1, "character": 18}}));
    assert_eq!(d["codeDescription"]["href"], "https://docs.invalid/diagnostics/T011.md");
    assert!(d["message"].as_str().unwrap().contains("unknown field `role.twofa`"), "{d}");

    // The quick fix of the "did you mean".
    let r = c.request(
        "textDocument/codeAction",
        json!({"textDocument": {"uri": URI}, "range": d["range"], "context": {"diagnostics": [d]}}),
    );
    let actions = r["result"].as_array().unwrap();
    assert_eq!(actions.len(), 1, "{r}");
    assert_eq!(actions[0]["kind"], "quickfix");
    let edit = &actions[0]["edit"]["changes"][URI][0];
    assert_eq!(edit["newText"], "2fa");
    assert_eq!(edit["range"], d["range"]);

    // Typing the fix (an incremental change) clears the diagnostic.
    c.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": URI, "version": 2}, "contentChanges": [{"range": d["range"], "text": "2fa"}]}),
    );
    let n = c.notification("textDocument/publishDiagnostics");
    assert_eq!(n["params"]["diagnostics"], json!([]), "{n}");
    assert_eq!(n["params"]["version"], 2);
    assert_eq!(c.stop(), 0);
}

#[test]
fn utf16_columns_after_non_ascii_text() {
    let mut c = Client::start(&[]);
    c.initialize(Value::Null);
    // `é` is one UTF-16 unit and two bytes, `😀` two units and four bytes.
    let n = c.open(URI, "policy \"p\"\nrule a: \"é😀\" == role.twofa\n");
    let d = &n["params"]["diagnostics"][0];
    assert_eq!(d["range"]["start"], json!({"line": 1, "character": 22}), "{n}");
    assert_eq!(c.stop(), 0);
}

#[test]
fn hover_completion_definition_and_symbols() {
    let mut c = Client::start(&[]);
    c.initialize(Value::Null);
    let text = "policy \"p\"\n\
                max_sessions = 3\n\
                let role.sensitive = role.2fa and role.multiple_sessions\n\
                @severity(warning)\n\
                rule a: role.2fa\n\
                rule b: count(user.sessions) <= max_sessions\n\
                rule c: role.sensitive\n";
    c.open(URI, text);

    let h = c.at("textDocument/hover", URI, 4, 14);
    let md = h["result"]["contents"]["value"].as_str().unwrap();
    assert!(md.contains("role.2fa: bool"), "{h}");
    assert!(md.contains("default: `false`"), "{h}");
    let h = c.at("textDocument/hover", URI, 5, 34);
    assert!(h["result"]["contents"]["value"].as_str().unwrap().contains("max_sessions = 3"), "{h}");
    let h = c.at("textDocument/hover", URI, 5, 9);
    assert!(h["result"]["contents"]["value"].as_str().unwrap().contains("count(LIST)"), "{h}");
    let h = c.at("textDocument/hover", URI, 6, 14);
    assert!(h["result"]["contents"]["value"].as_str().unwrap().contains("let role.sensitive = role.2fa"), "{h}");

    let d = c.at("textDocument/definition", URI, 5, 34);
    assert_eq!(
        d["result"]["range"],
        json!({"start": {"line": 1, "character": 0}, "end": {"line": 1, "character": 12}})
    );
    let d = c.at("textDocument/definition", URI, 6, 14);
    assert_eq!(d["result"]["range"]["start"], json!({"line": 2, "character": 4}), "{d}");

    let s = c.request("textDocument/documentSymbol", json!({"textDocument": {"uri": URI}}));
    let policy = &s["result"][0];
    assert_eq!(policy["name"], "p");
    let names: Vec<&str> = policy["children"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["max_sessions", "role.sensitive", "a", "b", "c"]);

    // Completion after `role.` while typing.
    let uri2 = "file:///nonexistent/lsp-test/q.tenet";
    c.open(uri2, "policy \"q\"\nrule a: role.\n");
    let r = c.at("textDocument/completion", uri2, 1, 13);
    let labels: Vec<&str> = r["result"].as_array().unwrap().iter().map(|i| i["label"].as_str().unwrap()).collect();
    assert!(labels.contains(&"multiple_sessions"), "{labels:?}");
    assert!(labels.contains(&"2fa"), "{labels:?}");
    assert!(!labels.contains(&"count"), "{labels:?}");
    assert_eq!(c.stop(), 0);
}

#[test]
fn formatting_returns_the_formatted_text_and_semantic_tokens_classify() {
    let mut c = Client::start(&[]);
    c.initialize(Value::Null);
    c.open(URI, "policy   \"p\"\nrule a:   role.2fa\n");
    let r = c.request(
        "textDocument/formatting",
        json!({"textDocument": {"uri": URI}, "options": {"tabSize": 2, "insertSpaces": true}}),
    );
    let edits = r["result"].as_array().unwrap();
    assert_eq!(edits.len(), 1, "{r}");
    assert_eq!(edits[0]["newText"], "policy \"p\"\n\nrule a: role.2fa\n");
    let r = c.request("textDocument/semanticTokens/full", json!({"textDocument": {"uri": URI}}));
    let data = r["result"]["data"].as_array().unwrap();
    // policy(keyword) "p"(string) rule(keyword) a role . 2fa: the first token is a keyword
    // of six characters at 0:0.
    assert_eq!(&data[..5], &[json!(0), json!(0), json!(6), json!(3), json!(0)]);
    assert_eq!(c.stop(), 0);
}

#[test]
fn yaml_policies_get_diagnostics_inside_their_expressions() {
    let mut c = Client::start(&[]);
    c.initialize(Value::Null);
    let uri = "file:///nonexistent/lsp-test/p.yaml";
    let text = "policy: p\nrules:\n  - id: a\n    assert: role.twofa\n";
    let n = c.open(uri, text);
    let d = &n["params"]["diagnostics"][0];
    assert_eq!(d["code"], "T011", "{n}");
    assert_eq!(d["range"]["start"], json!({"line": 3, "character": 17}), "{n}");
    let r = c.at("textDocument/completion", uri, 3, 17);
    let labels: Vec<&str> = r["result"].as_array().unwrap().iter().map(|i| i["label"].as_str().unwrap()).collect();
    assert!(labels.contains(&"multiple_sessions"), "{labels:?}");
    assert_eq!(c.stop(), 0);
}

#[test]
fn bad_messages_are_answered_and_the_server_goes_on() {
    let mut c = Client::start(&[]);
    // Before `initialize`: an error, not a crash.
    let r = c.request("textDocument/hover", json!({}));
    assert_eq!(r["error"]["code"], -32002, "{r}");
    c.initialize(Value::Null);
    c.send_raw(b"{not json");
    let r = c.response(Value::Null);
    assert_eq!(r["error"]["code"], -32700, "{r}");
    let r = c.request("tenet/nonsense", json!({}));
    assert_eq!(r["error"]["code"], -32601, "{r}");
    let r = c.request("textDocument/hover", json!({"nonsense": 1}));
    assert_eq!(r["error"]["code"], -32602, "{r}");
    // Positions outside the document, and documents never opened.
    c.open(URI, BROKEN);
    let r = c.at("textDocument/hover", URI, 99, 0);
    assert_eq!(r["error"]["code"], -32602, "{r}");
    let r = c.at("textDocument/hover", URI, 1, 9999);
    assert!(r.get("error").is_none(), "{r}");
    let r = c.at("textDocument/hover", "file:///never/opened.tenet", 0, 0);
    assert_eq!(r["error"]["code"], -32602, "{r}");
    // A huge document is answered with the size diagnostic.
    let huge = format!("policy \"p\"\n{}", "# padding\n".repeat(900_000));
    let n = c.open("file:///nonexistent/lsp-test/huge.tenet", &huge);
    assert_eq!(n["params"]["diagnostics"][0]["code"], "T004", "{}", &n.to_string()[..200]);
    // Still alive.
    let h = c.at("textDocument/hover", URI, 1, 9);
    assert!(h["result"]["contents"]["value"].as_str().unwrap().contains("kind role"), "{h}");
    assert_eq!(c.stop(), 0);
}

#[test]
fn diagnostic_codes_link_to_the_page_found_next_to_the_policy() {
    let dir = super::scratch::scratch("doc-links");
    std::fs::create_dir_all(dir.path().join("docs/diagnostics")).unwrap();
    std::fs::create_dir_all(dir.path().join("policies")).unwrap();
    let root = dir.path().canonicalize().unwrap();
    let uri = format!("file://{}/policies/p.tenet", root.display());
    let mut c = Client::start(&[]);
    c.initialize(Value::Null);
    let n = c.open(&uri, BROKEN);
    let href = n["params"]["diagnostics"][0]["codeDescription"]["href"].as_str().unwrap().to_string();
    assert_eq!(href, format!("file://{}/docs/diagnostics/T011.md", root.display()));
    assert_eq!(c.stop(), 0);
}

#[test]
fn a_custom_model_from_the_command_line() {
    let dir = super::scratch::scratch("model");
    let model = dir.path().join("m.yaml");
    std::fs::write(&model, "model: mini\nkinds:\n  tenant:\n    key: id\n    fields:\n      id: string\n      # Whether the widget is on.\n      widget: bool\n").unwrap();
    let mut c = Client::start(&["--model", model.to_str().unwrap()]);
    c.initialize(Value::Null);
    let n = c.open(URI, "policy \"p\"\nrule a: widget\n");
    assert_eq!(n["params"]["diagnostics"], json!([]), "{n}");
    let h = c.at("textDocument/hover", URI, 1, 9);
    let md = h["result"]["contents"]["value"].as_str().unwrap();
    assert!(md.contains("tenant.widget: bool") && md.contains("Whether the widget is on."), "{md}");
    let n = c.open("file:///nonexistent/lsp-test/r.tenet", "policy \"r\"\nrule a: role.2fa\n");
    assert_eq!(n["params"]["diagnostics"][0]["code"], "T010", "{n}");
    assert_eq!(c.stop(), 0);
}

#[test]
fn yaml_policies_get_semantic_tokens_inside_their_expressions_and_no_formatting() {
    let mut c = Client::start(&[]);
    c.initialize(Value::Null);
    let uri = "file:///nonexistent/lsp-test/tokens.yaml";
    let text = "policy: p\n\
                rules:\n  \
                  - id: a\n    \
                    when: |\n      \
                      role.status == \"active\"\n    \
                    assert: \"role.2fa and role.multiple_sessions\"\n";
    let n = c.open(uri, text);
    assert_eq!(n["params"]["diagnostics"], json!([]), "{n}");
    let r = c.request("textDocument/semanticTokens/full", json!({"textDocument": {"uri": uri}}));
    let data: Vec<u64> = r["result"]["data"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap()).collect();
    // Indices in the legend of `initialize` (src/lsp/analysis.rs TOKEN_TYPES).
    let (string, keyword, operator, property, ty) = (1u64, 3, 4, 8, 9);
    // (delta line, delta start, length, type, modifiers): the YAML keys are not tokens;
    // the block scalar's `role.status == "active"` and the quoted assertion are.
    #[rustfmt::skip]
    let expected = [
        4, 6, 4, ty, 0,   0, 5, 6, property, 0,   0, 7, 2, operator, 0,   0, 3, 8, string, 0,
        1, 13, 4, ty, 0,   0, 5, 3, property, 0,   0, 4, 3, keyword, 0,   0, 4, 4, ty, 0,
        0, 5, 17, property, 0,
    ];
    assert_eq!(data, expected, "{r}");
    let r = c.request(
        "textDocument/formatting",
        json!({"textDocument": {"uri": uri}, "options": {"tabSize": 2, "insertSpaces": true}}),
    );
    assert_eq!(r["result"], json!([]), "YAML is never rewritten: {r}");
    assert_eq!(c.stop(), 0);
}

const TEST_POLICY: &str = "policy \"p\"\n\n\
    @title(\"Sessions are capped\")\n\
    @message(\"User {user.id} has {count(user.sessions)} sessions\")\n\
    rule session_cap: count(user.sessions) <= 2\n\n\
    rule web_2fa: user.two_factor\n";

/// A directory with the policy `p.tenet` (returned canonical, for `file:` URIs).
fn test_dir() -> (super::scratch::Scratch, std::path::PathBuf) {
    let dir = super::scratch::scratch("policy");
    let root = dir.path().canonicalize().unwrap();
    std::fs::write(root.join("p.tenet"), TEST_POLICY).unwrap();
    (dir, root)
}

#[test]
fn a_test_file_gets_the_diagnostics_tenet_test_reports_with_range_and_code() {
    let (_dir, root) = test_dir();
    let text = "policy: p.tenet\ncases:\n  - name: typo\n    tenant: {}\n    expect:\n      - {rule: session_cup}\n";
    std::fs::write(root.join("typo.test.yaml"), text).unwrap();
    // The code `tenet test` reports for this file.
    let out =
        Command::new(env!("CARGO_BIN_EXE_tenet")).args(["test", "typo.test.yaml"]).current_dir(&root).output().unwrap();
    let printed = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    let code = printed
        .lines()
        .map(str::trim)
        .find(|l| l.len() == 4 && l.starts_with('T') && l[1..].bytes().all(|b| b.is_ascii_digit()))
        .unwrap_or_else(|| panic!("no code in {printed}"))
        .to_string();
    assert!(printed.contains("no rule `session_cup`"), "{printed}");

    let mut c = Client::start(&[]);
    c.initialize(Value::Null);
    let uri = format!("file://{}/typo.test.yaml", root.display());
    let n = c.open(&uri, text);
    let diags = n["params"]["diagnostics"].as_array().unwrap();
    assert_eq!(diags.len(), 1, "{n}");
    assert_eq!(diags[0]["code"], code.as_str(), "{n}");
    assert_eq!(
        diags[0]["range"],
        json!({"start": {"line": 5, "character": 15}, "end": {"line": 5, "character": 26}}),
        "{n}"
    );
    assert!(diags[0]["message"].as_str().unwrap().contains("did you mean `session_cap`"), "{n}");
    // Its quick fix, and the fix typed in clears it.
    let r = c.request(
        "textDocument/codeAction",
        json!({"textDocument": {"uri": uri}, "range": diags[0]["range"], "context": {"diagnostics": [diags[0]]}}),
    );
    assert_eq!(r["result"][0]["edit"]["changes"][&uri][0]["newText"], "session_cap", "{r}");
    c.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": uri, "version": 2},
               "contentChanges": [{"range": diags[0]["range"], "text": "session_cap"}]}),
    );
    let n = c.notification("textDocument/publishDiagnostics");
    assert_eq!(n["params"]["diagnostics"], json!([]), "{n}");
    assert_eq!(c.stop(), 0);
}

#[test]
fn test_files_complete_rule_names_keys_and_model_fields_and_hover_rules_and_fields() {
    let (_dir, root) = test_dir();
    let mut c = Client::start(&[]);
    c.initialize(Value::Null);
    let uri = format!("file://{}/p.test.yaml", root.display());
    // Being typed: not valid YAML yet.
    let text = "policy: p.tenet\n\
                cases:\n  \
                  - name: one\n    \
                    tenant:\n      \
                      users:\n        \
                        - id: u1\n          \
                          two_factor: true\n          \
                          \n    \
                    expect:\n      \
                      - {rule: session_cap}\n      \
                      - {rule: \n";
    c.open(&uri, text);
    let labels = |r: &Value| -> Vec<String> {
        r["result"].as_array().unwrap().iter().map(|i| i["label"].as_str().unwrap().to_string()).collect()
    };
    // The rules of the policy under test, after `rule:`.
    let r = c.at("textDocument/completion", &uri, 10, 15);
    assert_eq!(labels(&r), ["session_cap", "web_2fa"], "{r}");
    assert_eq!(r["result"][0]["detail"], "rule of p: Sessions are capped", "{r}");
    // The fields of a user in the inline tenant.
    let r = c.at("textDocument/completion", &uri, 7, 10);
    let fields = labels(&r);
    assert!(fields.iter().any(|f| f == "sessions") && fields.iter().any(|f| f == "two_factor"), "{fields:?}");
    assert!(!fields.iter().any(|f| f == "web_2fa" || f == "policy"), "{fields:?}");
    // The keys of a case.
    let r = c.at("textDocument/completion", &uri, 3, 4);
    assert!(labels(&r).iter().any(|k| k == "tenant_file"), "{r}");

    // Hover: a rule name shows the rule; a tenant key shows the model field.
    let h = c.at("textDocument/hover", &uri, 9, 18);
    let md = h["result"]["contents"]["value"].as_str().unwrap();
    assert!(md.contains("rule session_cap: count(user.sessions) <= 2"), "{md}");
    assert!(md.contains("Sessions are capped"), "{md}");
    assert!(md.contains("message: User {user.id} has {count(user.sessions)} sessions"), "{md}");
    assert_eq!(
        h["result"]["range"],
        json!({"start": {"line": 9, "character": 15}, "end": {"line": 9, "character": 26}})
    );
    let h = c.at("textDocument/hover", &uri, 6, 12);
    let md = h["result"]["contents"]["value"].as_str().unwrap();
    assert!(md.contains("user.two_factor: bool"), "{md}");
    // Go to definition: the rule's name in the policy file.
    let d = c.at("textDocument/definition", &uri, 9, 18);
    assert_eq!(d["result"]["uri"], format!("file://{}/p.tenet", root.display()), "{d}");
    assert_eq!(
        d["result"]["range"],
        json!({"start": {"line": 4, "character": 5}, "end": {"line": 4, "character": 16}})
    );
    assert_eq!(c.stop(), 0);
}
