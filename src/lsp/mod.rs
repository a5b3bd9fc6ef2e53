//! `tenet lsp`: a language server over standard input and output.
//!
//! Synchronous, one thread for the work and one that reads messages (so that a burst of
//! edits is checked once, when the queue is empty). Messages are the types of the
//! `lsp-server` crate and the requests and results those of `lsp-types`; the framing is
//! read here, with a size limit, so that a malformed or oversized message is answered with
//! an error instead of ending the server.
//!
//! - `analysis`: what a document says (diagnostics, hover, completion, definition…).
//! - `text`: positions (UTF-16) and the words around them.
//! - `vocab`: the builtin table and the lexer's tokens, as hover, completion and semantic
//!   highlighting show them.
//!
//! - `testfile`: where a position is in a `*.test.yaml` file, and what completes and
//!   hovers there (keys, rule names, a tenant's model fields).
//!
//! The documents served: `.tenet` policies; YAML policies (diagnostics, hover, completion,
//! definition, symbols and semantic tokens for their expressions, whose spans the YAML
//! parser maps into the file; no formatting); `*.test.yaml` files (diagnostics as `tenet
//! test` loads them, completion and hover).

pub mod analysis;
pub mod testfile;
pub mod text;
pub mod vocab;

use crate::model::Model;
use analysis::{Doc, Form, ItemKind};
use lsp_server::{ErrorCode, Message, Notification, Request, RequestId, Response};
use lsp_types as lt;
use serde_json::{json, Value as Json};
use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, Read, Write};
use std::path::PathBuf;
use std::sync::mpsc;
use text::Lines;

/// The largest message accepted (a document is at most `parse::MAX_POLICY_BYTES` anyway).
const MAX_MESSAGE_BYTES: usize = 64 << 20;
/// The longest header line accepted.
const MAX_HEADER_BYTES: u64 = 8 << 10;

/// Options of the server: the model, and where diagnostic codes are documented.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// A model file; `None` for the built-in `erp` model.
    pub model: Option<String>,
}

/// Runs the server on standard input and output until `exit` or the end of the input.
/// Returns the process exit code (0 after `shutdown` then `exit`, 1 otherwise).
pub fn run(opts: &Options) -> u8 {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || read_loop(std::io::stdin().lock(), tx));
    let mut out = std::io::stdout().lock();
    let mut server = Server::new(opts.clone());
    server.serve(&rx, &mut out)
}

/// What the reader thread passes on: a message, or an error to answer.
enum Incoming {
    Msg(Message),
    /// An error response to send (`id` null when the message had none that could be read).
    Error(Option<RequestId>, ErrorCode, String),
}

fn read_loop(mut input: impl BufRead, tx: mpsc::Sender<Incoming>) {
    loop {
        match read_one(&mut input) {
            Ok(None) => return,
            Ok(Some(inc)) => {
                if tx.send(inc).is_err() {
                    return;
                }
            }
            Err(_) => return,
        }
    }
}

/// Reads one framed message. `Ok(None)` at the end of the input; `Err` when the input
/// fails (nothing more can be read).
fn read_one(input: &mut impl BufRead) -> std::io::Result<Option<Incoming>> {
    let mut length: Option<Result<usize, String>> = None;
    let mut any = false;
    loop {
        let mut line = Vec::new();
        let n = input.by_ref().take(MAX_HEADER_BYTES).read_until(b'\n', &mut line)?;
        if n == 0 {
            return Ok(None);
        }
        let line = String::from_utf8_lossy(&line);
        let line = line.trim_end_matches(['\r', '\n']);
        if line.is_empty() {
            if any {
                break;
            }
            continue;
        }
        any = true;
        if let Some((name, value)) = line.split_once(':') {
            if name.trim().eq_ignore_ascii_case("content-length") {
                length =
                    Some(value.trim().parse::<usize>().map_err(|_| format!("bad Content-Length `{}`", value.trim())));
            }
        }
    }
    let size = match length {
        Some(Ok(n)) => n,
        Some(Err(m)) => return Ok(Some(Incoming::Error(None, ErrorCode::ParseError, m))),
        None => {
            return Ok(Some(Incoming::Error(None, ErrorCode::ParseError, "a message without Content-Length".into())))
        }
    };
    if size > MAX_MESSAGE_BYTES {
        std::io::copy(&mut input.by_ref().take(size as u64), &mut std::io::sink())?;
        return Ok(Some(Incoming::Error(
            None,
            ErrorCode::InvalidRequest,
            format!("a message of {size} bytes is larger than the limit of {MAX_MESSAGE_BYTES}"),
        )));
    }
    let mut body = vec![0; size];
    input.read_exact(&mut body)?;
    let value: Json = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => return Ok(Some(Incoming::Error(None, ErrorCode::ParseError, format!("invalid JSON: {e}")))),
    };
    let id: Option<RequestId> = value.get("id").and_then(|i| serde_json::from_value(i.clone()).ok());
    match serde_json::from_value::<Message>(value) {
        Ok(m) => Ok(Some(Incoming::Msg(m))),
        Err(e) => Ok(Some(Incoming::Error(id, ErrorCode::InvalidRequest, format!("not a JSON-RPC message: {e}")))),
    }
}

/// An open document.
struct Document {
    uri: lt::Uri,
    /// The file path (or the URI when it is not a file), as diagnostics name it.
    name: String,
    text: String,
    version: i32,
}

struct Server {
    opts: Options,
    model: Model,
    docs: BTreeMap<String, Document>,
    /// Documents whose diagnostics are to be published when the queue is empty.
    dirty: BTreeSet<String>,
    initialized: bool,
    shutdown: bool,
    /// The workspace root (test files' paths stay inside it).
    root: Option<PathBuf>,
    /// `{code}` in this template becomes the diagnostic code (`initializationOptions`).
    code_url: Option<String>,
    /// Messages to show the user once initialized (a model that did not load).
    notes: Vec<String>,
}

impl Server {
    fn new(opts: Options) -> Self {
        let mut s = Server {
            opts,
            model: Model::erp(),
            docs: BTreeMap::new(),
            dirty: BTreeSet::new(),
            initialized: false,
            shutdown: false,
            root: None,
            code_url: None,
            notes: Vec::new(),
        };
        if let Some(m) = s.opts.model.clone() {
            s.load_model(&m);
        }
        s
    }

    fn load_model(&mut self, path: &str) {
        let p = match &self.root {
            Some(root) if std::path::Path::new(path).is_relative() => root.join(path),
            _ => PathBuf::from(path),
        };
        match crate::cli::read_model(&p, path) {
            Ok(m) => self.model = m,
            Err(crate::cli::ModelError::Read(e)) => {
                self.notes.push(format!("tenet: {e}; using the built-in `erp` model"));
            }
            Err(crate::cli::ModelError::Diagnostics(d)) => self.notes.push(format!(
                "tenet: the model `{path}` has {} error(s) (run `tenet model show --model {path}`); using the built-in `erp` model",
                d.len()
            )),
        }
    }

    fn serve(&mut self, rx: &mpsc::Receiver<Incoming>, out: &mut impl Write) -> u8 {
        loop {
            let inc = match rx.try_recv() {
                Ok(m) => m,
                Err(mpsc::TryRecvError::Empty) => {
                    self.publish_dirty(out);
                    match rx.recv() {
                        Ok(m) => m,
                        Err(_) => return 1,
                    }
                }
                Err(mpsc::TryRecvError::Disconnected) => return 1,
            };
            match inc {
                Incoming::Error(id, code, message) => {
                    let null_id = id.is_none();
                    send_error(out, id.unwrap_or_else(|| RequestId::from(String::new())), code, message, null_id)
                }
                Incoming::Msg(Message::Request(req)) => {
                    let id = req.id.clone();
                    let resp = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.request(req)));
                    let resp = match resp {
                        Ok(r) => r,
                        Err(_) => Err((ErrorCode::InternalError, "internal error (please report this)".to_string())),
                    };
                    match resp {
                        Ok(result) => send(out, Message::Response(Response::new_ok(id, result))),
                        Err((code, message)) => send_error(out, id, code, message, false),
                    }
                    if !self.notes.is_empty() && self.initialized {
                        for note in std::mem::take(&mut self.notes) {
                            notify(out, "window/showMessage", json!({"type": 2, "message": note}));
                        }
                    }
                }
                Incoming::Msg(Message::Notification(n)) => {
                    if n.method == "exit" {
                        return if self.shutdown { 0 } else { 1 };
                    }
                    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.notification(n)));
                }
                Incoming::Msg(Message::Response(_)) => {}
            }
        }
    }

    fn publish_dirty(&mut self, out: &mut impl Write) {
        for key in std::mem::take(&mut self.dirty) {
            let Some(doc) = self.docs.get(&key) else { continue };
            let diags = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.lsp_diagnostics(doc)))
                .unwrap_or_default();
            let params =
                lt::PublishDiagnosticsParams { uri: doc.uri.clone(), diagnostics: diags, version: Some(doc.version) };
            notify(out, "textDocument/publishDiagnostics", serde_json::to_value(params).unwrap_or(Json::Null));
        }
    }

    fn request(&mut self, req: Request) -> Result<Json, (ErrorCode, String)> {
        if req.method == "initialize" {
            if self.initialized {
                return Err((ErrorCode::InvalidRequest, "the server is already initialized".into()));
            }
            return self.initialize(req.params);
        }
        if !self.initialized {
            return Err((ErrorCode::ServerNotInitialized, "the server is not initialized yet".into()));
        }
        if self.shutdown {
            return Err((ErrorCode::InvalidRequest, "the server is shutting down".into()));
        }
        let m = req.method.as_str();
        match m {
            "shutdown" => {
                self.shutdown = true;
                Ok(Json::Null)
            }
            "textDocument/hover" => {
                let p: lt::HoverParams = params(req.params)?;
                self.hover(&p.text_document_position_params)
            }
            "textDocument/completion" => {
                let p: lt::CompletionParams = params(req.params)?;
                self.completion(&p.text_document_position)
            }
            "textDocument/definition" => {
                let p: lt::GotoDefinitionParams = params(req.params)?;
                self.definition(&p.text_document_position_params)
            }
            "textDocument/documentSymbol" => {
                let p: lt::DocumentSymbolParams = params(req.params)?;
                self.symbols(&p.text_document.uri)
            }
            "textDocument/formatting" => {
                let p: lt::DocumentFormattingParams = params(req.params)?;
                self.formatting(&p.text_document.uri)
            }
            "textDocument/codeAction" => {
                let p: lt::CodeActionParams = params(req.params)?;
                self.code_actions(&p)
            }
            "textDocument/semanticTokens/full" => {
                let p: lt::SemanticTokensParams = params(req.params)?;
                self.semantic_tokens(&p.text_document.uri)
            }
            _ => Err((ErrorCode::MethodNotFound, format!("unknown method `{m}`"))),
        }
    }

    fn initialize(&mut self, p: Json) -> Result<Json, (ErrorCode, String)> {
        let p: lt::InitializeParams = params(p)?;
        #[allow(deprecated)]
        let root =
            p.workspace_folders.as_ref().and_then(|f| f.first()).map(|f| f.uri.clone()).or_else(|| p.root_uri.clone());
        self.root = root.and_then(|u| file_path(&u)).map(PathBuf::from);
        if let Some(opts) = &p.initialization_options {
            if let Some(m) = opts.get("model").and_then(Json::as_str).filter(|m| !m.is_empty()) {
                if self.opts.model.is_none() {
                    self.load_model(m);
                }
            }
            if let Some(u) = opts.get("diagnosticUrl").and_then(Json::as_str).filter(|u| u.contains("{code}")) {
                self.code_url = Some(u.to_string());
            }
        }
        self.initialized = true;
        let legend = lt::SemanticTokensLegend {
            token_types: analysis::TOKEN_TYPES.iter().map(|t| lt::SemanticTokenType::new(t)).collect(),
            token_modifiers: Vec::new(),
        };
        let caps = lt::ServerCapabilities {
            position_encoding: Some(lt::PositionEncodingKind::UTF16),
            text_document_sync: Some(lt::TextDocumentSyncCapability::Kind(lt::TextDocumentSyncKind::INCREMENTAL)),
            hover_provider: Some(lt::HoverProviderCapability::Simple(true)),
            completion_provider: Some(lt::CompletionOptions {
                trigger_characters: Some(vec![".".into(), "@".into(), "\"".into()]),
                ..Default::default()
            }),
            definition_provider: Some(lt::OneOf::Left(true)),
            document_symbol_provider: Some(lt::OneOf::Left(true)),
            document_formatting_provider: Some(lt::OneOf::Left(true)),
            code_action_provider: Some(lt::CodeActionProviderCapability::Options(lt::CodeActionOptions {
                code_action_kinds: Some(vec![lt::CodeActionKind::QUICKFIX]),
                ..Default::default()
            })),
            semantic_tokens_provider: Some(lt::SemanticTokensServerCapabilities::SemanticTokensOptions(
                lt::SemanticTokensOptions {
                    legend,
                    full: Some(lt::SemanticTokensFullOptions::Bool(true)),
                    range: None,
                    ..Default::default()
                },
            )),
            ..Default::default()
        };
        Ok(json!({
            "capabilities": caps,
            "serverInfo": {"name": "tenet", "version": env!("CARGO_PKG_VERSION")},
        }))
    }

    fn notification(&mut self, n: Notification) {
        if !self.initialized {
            return;
        }
        match n.method.as_str() {
            "textDocument/didOpen" => {
                let Ok(p) = serde_json::from_value::<lt::DidOpenTextDocumentParams>(n.params) else { return };
                let key = p.text_document.uri.as_str().to_string();
                let name = file_path(&p.text_document.uri).unwrap_or_else(|| key.clone());
                let doc = Document {
                    uri: p.text_document.uri,
                    name,
                    text: p.text_document.text,
                    version: p.text_document.version,
                };
                self.docs.insert(key.clone(), doc);
                self.dirty.insert(key);
            }
            "textDocument/didChange" => {
                let Ok(p) = serde_json::from_value::<lt::DidChangeTextDocumentParams>(n.params) else { return };
                let key = p.text_document.uri.as_str().to_string();
                let Some(doc) = self.docs.get_mut(&key) else { return };
                for change in p.content_changes {
                    apply_change(&mut doc.text, change);
                }
                doc.version = p.text_document.version;
                self.dirty.insert(key);
            }
            "textDocument/didClose" => {
                let Ok(p) = serde_json::from_value::<lt::DidCloseTextDocumentParams>(n.params) else { return };
                let key = p.text_document.uri.as_str().to_string();
                self.docs.remove(&key);
                self.dirty.remove(&key);
            }
            _ => {}
        }
    }

    fn doc(&self, uri: &lt::Uri) -> Result<&Document, (ErrorCode, String)> {
        self.docs.get(uri.as_str()).ok_or_else(|| (ErrorCode::InvalidParams, format!("`{}` is not open", uri.as_str())))
    }

    /// The byte offset of a position in a document, or an error for a position outside it.
    fn offset(doc: &Document, pos: lt::Position) -> Result<usize, (ErrorCode, String)> {
        Lines::new(&doc.text)
            .offset(pos)
            .ok_or_else(|| (ErrorCode::InvalidParams, format!("line {} is past the end of the document", pos.line)))
    }

    fn lsp_diagnostics(&self, doc: &Document) -> Vec<lt::Diagnostic> {
        let lines = Lines::new(&doc.text);
        let docs_dir = self.docs_dir(&doc.name);
        analysis::diagnostics(&self.model, &doc.name, &doc.text, self.root.as_deref())
            .iter()
            .map(|d| {
                let code = d.code.as_str();
                let href = match (&self.code_url, &docs_dir) {
                    (Some(t), _) => t.replace("{code}", code).parse::<lt::Uri>().ok(),
                    (None, Some(dir)) => file_uri(&dir.join(format!("{code}.md"))),
                    (None, None) => None,
                };
                let mut message = d.message.clone();
                if let Some(h) = &d.help {
                    message.push_str(&format!("\nhelp: {h}"));
                }
                let related = d
                    .related
                    .iter()
                    .map(|(span, label)| lt::DiagnosticRelatedInformation {
                        location: lt::Location {
                            uri: doc.uri.clone(),
                            range: lines.range(span.start as usize, span.end as usize),
                        },
                        message: label.clone(),
                    })
                    .collect::<Vec<_>>();
                lt::Diagnostic {
                    range: lines.range(d.span.start as usize, d.span.end as usize),
                    severity: Some(lt::DiagnosticSeverity::ERROR),
                    code: Some(lt::NumberOrString::String(code.to_string())),
                    code_description: href.map(|href| lt::CodeDescription { href }),
                    source: Some("tenet".into()),
                    message,
                    related_information: (!related.is_empty()).then_some(related),
                    tags: None,
                    data: analysis::fix(&doc.text, d).map(|(_, _, r)| json!({"replacement": r})),
                }
            })
            .collect()
    }

    /// The directory of the diagnostic pages (`docs/diagnostics/`), searched for from the
    /// document's directory upwards.
    fn docs_dir(&self, name: &str) -> Option<PathBuf> {
        let path = std::path::Path::new(name);
        if !path.is_absolute() {
            return None;
        }
        path.ancestors().skip(1).take(32).map(|a| a.join("docs").join("diagnostics")).find(|d| d.is_dir())
    }

    fn hover(&self, p: &lt::TextDocumentPositionParams) -> Result<Json, (ErrorCode, String)> {
        let doc = self.doc(&p.text_document.uri)?;
        let offset = Self::offset(doc, p.position)?;
        let found = if analysis::form(&doc.name, &doc.text) == Form::Test {
            let under = testfile::under_test(&doc.name, &doc.text, self.root.as_deref());
            let model = under.model.as_ref().unwrap_or(&self.model);
            testfile::TestDoc { text: &doc.text, model, policies: &under.policies }.hover(offset)
        } else {
            Doc::new(&self.model, &doc.name, &doc.text).hover(offset)
        };
        let Some((md, (s, e))) = found else { return Ok(Json::Null) };
        let hover = lt::Hover {
            contents: lt::HoverContents::Markup(lt::MarkupContent { kind: lt::MarkupKind::Markdown, value: md }),
            range: Some(Lines::new(&doc.text).range(s, e)),
        };
        Ok(serde_json::to_value(hover).unwrap_or(Json::Null))
    }

    fn completion(&self, p: &lt::TextDocumentPositionParams) -> Result<Json, (ErrorCode, String)> {
        let doc = self.doc(&p.text_document.uri)?;
        let offset = Self::offset(doc, p.position)?;
        let form = analysis::form(&doc.name, &doc.text);
        let items = match form {
            Form::Tenet | Form::YamlPolicy => Doc::new(&self.model, &doc.name, &doc.text).complete(offset, form),
            Form::Test => {
                let under = testfile::under_test(&doc.name, &doc.text, self.root.as_deref());
                let model = under.model.as_ref().unwrap_or(&self.model);
                testfile::TestDoc { text: &doc.text, model, policies: &under.policies }.complete(offset)
            }
            Form::Other => return Ok(Json::Null),
        };
        let items: Vec<lt::CompletionItem> = items
            .into_iter()
            .map(|it| lt::CompletionItem {
                label: it.label,
                kind: Some(match it.kind {
                    ItemKind::Kind => lt::CompletionItemKind::CLASS,
                    ItemKind::Field => lt::CompletionItemKind::FIELD,
                    ItemKind::Builtin => lt::CompletionItemKind::FUNCTION,
                    ItemKind::Param => lt::CompletionItemKind::CONSTANT,
                    ItemKind::Let => lt::CompletionItemKind::VARIABLE,
                    ItemKind::Annotation => lt::CompletionItemKind::PROPERTY,
                    ItemKind::Value => lt::CompletionItemKind::ENUM_MEMBER,
                    ItemKind::Keyword => lt::CompletionItemKind::KEYWORD,
                    ItemKind::Key => lt::CompletionItemKind::PROPERTY,
                    ItemKind::Rule => lt::CompletionItemKind::REFERENCE,
                }),
                detail: Some(it.detail),
                documentation: it.doc.map(|v| {
                    lt::Documentation::MarkupContent(lt::MarkupContent { kind: lt::MarkupKind::Markdown, value: v })
                }),
                insert_text: it.insert,
                ..Default::default()
            })
            .collect();
        Ok(serde_json::to_value(lt::CompletionResponse::Array(items)).unwrap_or(Json::Null))
    }

    fn definition(&self, p: &lt::TextDocumentPositionParams) -> Result<Json, (ErrorCode, String)> {
        let doc = self.doc(&p.text_document.uri)?;
        let offset = Self::offset(doc, p.position)?;
        if analysis::form(&doc.name, &doc.text) == Form::Test {
            // A rule name or a parameter: where its policy file defines it.
            let under = testfile::under_test(&doc.name, &doc.text, self.root.as_deref());
            let model = under.model.as_ref().unwrap_or(&self.model);
            let t = testfile::TestDoc { text: &doc.text, model, policies: &under.policies };
            let Some((file, (s, e))) = t.definition(offset) else { return Ok(Json::Null) };
            let path = std::path::Path::new(file.name.as_ref());
            let Some(uri) = file_uri(path).filter(|_| path.is_absolute()) else { return Ok(Json::Null) };
            let loc = lt::Location { uri, range: Lines::new(&file.text).range(s, e) };
            return Ok(serde_json::to_value(lt::GotoDefinitionResponse::Scalar(loc)).unwrap_or(Json::Null));
        }
        let d = Doc::new(&self.model, &doc.name, &doc.text);
        let Some((s, e)) = d.definition(offset) else { return Ok(Json::Null) };
        let loc = lt::Location { uri: doc.uri.clone(), range: Lines::new(&doc.text).range(s, e) };
        Ok(serde_json::to_value(lt::GotoDefinitionResponse::Scalar(loc)).unwrap_or(Json::Null))
    }

    fn symbols(&self, uri: &lt::Uri) -> Result<Json, (ErrorCode, String)> {
        let doc = self.doc(uri)?;
        let d = Doc::new(&self.model, &doc.name, &doc.text);
        let Some(p) = &d.ast else { return Ok(Json::Null) };
        let lines = Lines::new(&doc.text);
        #[allow(deprecated)]
        let sym = |name: String, kind: lt::SymbolKind, detail: Option<String>, whole: (u32, u32), sel: (u32, u32)| {
            let range = lines.range(whole.0 as usize, whole.1.max(sel.1) as usize);
            lt::DocumentSymbol {
                name,
                detail,
                kind,
                tags: None,
                deprecated: None,
                range,
                selection_range: lines.range(sel.0 as usize, sel.1 as usize),
                children: None,
            }
        };
        let mut children = Vec::new();
        for q in &p.params {
            let value = doc.text.get(q.value.span.start as usize..q.value.span.end as usize).map(str::to_string);
            children.push(sym(
                q.name.node.clone(),
                lt::SymbolKind::CONSTANT,
                value,
                (q.name.span.start, q.value.span.end),
                (q.name.span.start, q.name.span.end),
            ));
        }
        for l in &p.lets {
            children.push(sym(
                format!("{}.{}", l.kind.node, l.field.node),
                lt::SymbolKind::FIELD,
                Some("let".into()),
                (l.kind.span.start, l.expr.span.end),
                (l.kind.span.start, l.field.span.end),
            ));
        }
        for r in &p.rules {
            children.push(sym(
                r.name.node.clone(),
                lt::SymbolKind::FUNCTION,
                Some("rule".into()),
                (r.name.span.start, r.assert.span.end),
                (r.name.span.start, r.name.span.end),
            ));
        }
        let end =
            children.iter().map(|c| c.range.end).max().unwrap_or_else(|| lines.position(p.name.span.end as usize));
        let mut policy = sym(
            p.name.node.clone(),
            lt::SymbolKind::NAMESPACE,
            Some("policy".into()),
            (p.name.span.start, p.name.span.end),
            (p.name.span.start, p.name.span.end),
        );
        policy.range.end = end.max(policy.range.end);
        policy.range.start =
            policy.range.start.min(children.iter().map(|c| c.range.start).min().unwrap_or(policy.range.start));
        policy.children = Some(children);
        Ok(serde_json::to_value(lt::DocumentSymbolResponse::Nested(vec![policy])).unwrap_or(Json::Null))
    }

    /// `tenet fmt` for a `.tenet` file. YAML (policies and test files) gets no edits: `tenet
    /// fmt` formats only `.tenet`, and rewriting an expression inside YAML would have to
    /// re-quote and re-indent it (block scalars, escapes, comments around it) — a change of
    /// the file's YAML that no command makes, so the editor makes none either.
    fn formatting(&self, uri: &lt::Uri) -> Result<Json, (ErrorCode, String)> {
        let doc = self.doc(uri)?;
        match analysis::form(&doc.name, &doc.text) {
            Form::Tenet => {}
            Form::YamlPolicy | Form::Test => return Ok(json!([])),
            Form::Other => return Ok(Json::Null),
        }
        let file = crate::source::SourceFile::new(doc.name.as_str(), doc.text.as_str());
        match crate::fmt::format(&file) {
            Ok(formatted) if formatted == doc.text => Ok(json!([])),
            Ok(formatted) => {
                let lines = Lines::new(&doc.text);
                let edit = lt::TextEdit { range: lines.range(0, doc.text.len()), new_text: formatted };
                Ok(serde_json::to_value(vec![edit]).unwrap_or(Json::Null))
            }
            // A file that does not parse is left as it is; its diagnostics say why.
            Err(_) => Ok(Json::Null),
        }
    }

    fn code_actions(&self, p: &lt::CodeActionParams) -> Result<Json, (ErrorCode, String)> {
        let doc = self.doc(&p.text_document.uri)?;
        let lines = Lines::new(&doc.text);
        let (Some(lo), Some(hi)) = (lines.offset(p.range.start), lines.offset(p.range.end)) else {
            return Err((ErrorCode::InvalidParams, "the range is outside the document".into()));
        };
        let mut actions = Vec::new();
        let lsp_diags = self.lsp_diagnostics(doc);
        for (d, ld) in
            analysis::diagnostics(&self.model, &doc.name, &doc.text, self.root.as_deref()).iter().zip(lsp_diags)
        {
            let (s, e) = (d.span.start as usize, d.span.end as usize);
            if e < lo || s > hi {
                continue;
            }
            let Some((s, e, replacement)) = analysis::fix(&doc.text, d) else { continue };
            let edit = lt::TextEdit { range: lines.range(s, e), new_text: replacement.clone() };
            #[allow(clippy::mutable_key_type)]
            let changes = std::collections::HashMap::from([(doc.uri.clone(), vec![edit])]);
            actions.push(lt::CodeActionOrCommand::CodeAction(lt::CodeAction {
                title: format!("Replace with `{replacement}`"),
                kind: Some(lt::CodeActionKind::QUICKFIX),
                diagnostics: Some(vec![ld]),
                edit: Some(lt::WorkspaceEdit { changes: Some(changes), ..Default::default() }),
                is_preferred: Some(true),
                ..Default::default()
            }));
        }
        Ok(serde_json::to_value(actions).unwrap_or(Json::Null))
    }

    fn semantic_tokens(&self, uri: &lt::Uri) -> Result<Json, (ErrorCode, String)> {
        let doc = self.doc(uri)?;
        let form = analysis::form(&doc.name, &doc.text);
        if !matches!(form, Form::Tenet | Form::YamlPolicy) || doc.text.len() > crate::parse::MAX_POLICY_BYTES {
            return Ok(json!({"data": []}));
        }
        let d = Doc::new(&self.model, &doc.name, &doc.text);
        let lines = Lines::new(&doc.text);
        let mut data = Vec::new();
        let (mut pl, mut pc) = (0u32, 0u32);
        for (s, e, ty) in d.semantic_tokens() {
            let (a, b) = (lines.position(s), lines.position(e));
            if a.line != b.line {
                continue;
            }
            let dl = a.line - pl;
            let dc = if dl == 0 { a.character - pc } else { a.character };
            data.push(lt::SemanticToken {
                delta_line: dl,
                delta_start: dc,
                length: b.character - a.character,
                token_type: ty,
                token_modifiers_bitset: 0,
            });
            (pl, pc) = (a.line, a.character);
        }
        Ok(serde_json::to_value(lt::SemanticTokens { result_id: None, data }).unwrap_or(Json::Null))
    }
}

/// Applies one change of `didChange` (a range edit, or the whole text).
fn apply_change(text: &mut String, change: lt::TextDocumentContentChangeEvent) {
    let Some(range) = change.range else {
        *text = change.text;
        return;
    };
    let lines = Lines::new(text);
    let end_of_text = text.len();
    let s = lines.offset(range.start).unwrap_or(end_of_text);
    let e = lines.offset(range.end).unwrap_or(end_of_text).max(s);
    text.replace_range(s..e, &change.text);
}

fn params<T: serde::de::DeserializeOwned>(p: Json) -> Result<T, (ErrorCode, String)> {
    serde_json::from_value(p).map_err(|e| (ErrorCode::InvalidParams, format!("invalid parameters: {e}")))
}

fn send(out: &mut impl Write, msg: Message) {
    // A closed output means the client is gone: the next read ends the loop.
    let _ = msg.write(out);
}

fn send_error(out: &mut impl Write, id: RequestId, code: ErrorCode, message: String, null_id: bool) {
    if null_id {
        // JSON-RPC: an error about a message whose id could not be read has `id: null`.
        let body =
            json!({"jsonrpc": "2.0", "id": null, "error": {"code": code as i32, "message": message}}).to_string();
        let _ = write!(out, "Content-Length: {}\r\n\r\n{body}", body.len());
        let _ = out.flush();
        return;
    }
    send(out, Message::Response(Response::new_err(id, code as i32, message)));
}

fn notify(out: &mut impl Write, method: &str, params: Json) {
    send(out, Message::Notification(Notification { method: method.to_string(), params }));
}

/// The path of a `file:` URI (percent-decoded), or `None` for another scheme.
fn file_path(uri: &lt::Uri) -> Option<String> {
    let s = uri.as_str();
    let rest = s.strip_prefix("file://")?;
    let path = &rest[rest.find('/')?..];
    let bytes = path.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            if let Some(v) = path.get(i + 1..i + 3).and_then(|h| u8::from_str_radix(h, 16).ok()) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    let mut p = String::from_utf8_lossy(&out).into_owned();
    // `file:///C:/x` on Windows.
    if p.len() > 2 && p.as_bytes()[2] == b':' {
        p.remove(0);
    }
    Some(p)
}

/// A `file:` URI for a path.
fn file_uri(path: &std::path::Path) -> Option<lt::Uri> {
    let s = path.to_str()?;
    let mut out = String::from("file://");
    if !s.starts_with('/') {
        out.push('/');
    }
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"/-_.~:".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn framing_survives_garbage_and_oversized_messages() {
        let good = r#"{"jsonrpc":"2.0","method":"initialized","params":{}}"#;
        let input = format!(
            "Content-Length: 5\r\n\r\n{{oops\
             Content-Length: 999999999999\r\n\r\n\
             X-Other: 1\r\n\r\n\
             Content-Length: {}\r\n\r\n{good}",
            good.len()
        );
        let mut r = std::io::BufReader::new(input.as_bytes());
        assert!(matches!(read_one(&mut r), Ok(Some(Incoming::Error(None, ErrorCode::ParseError, _)))));
        // The oversized body cannot be skipped (the input ends): the reader stops.
        assert!(read_one(&mut r).is_err() || matches!(read_one(&mut r), Ok(None)));
        let input = format!("X-Other: 1\r\n\r\nContent-Length: {}\r\n\r\n{good}", good.len());
        let mut r = std::io::BufReader::new(input.as_bytes());
        assert!(matches!(read_one(&mut r), Ok(Some(Incoming::Error(None, ErrorCode::ParseError, _)))));
        assert!(matches!(read_one(&mut r), Ok(Some(Incoming::Msg(Message::Notification(_))))));
        assert!(matches!(read_one(&mut r), Ok(None)));
    }

    #[test]
    fn file_uris_round_trip() {
        let uri: lt::Uri = "file:///tmp/a%20b/p.tenet".parse().unwrap();
        assert_eq!(file_path(&uri).as_deref(), Some("/tmp/a b/p.tenet"));
        let back = file_uri(std::path::Path::new("/tmp/a b")).unwrap();
        assert_eq!(back.as_str(), "file:///tmp/a%20b");
    }

    #[test]
    fn incremental_changes_edit_the_text() {
        let mut text = "rule a: x\nrule b: y\n".to_string();
        let change = lt::TextDocumentContentChangeEvent {
            range: Some(lt::Range::new(lt::Position::new(1, 8), lt::Position::new(1, 9))),
            range_length: None,
            text: "role.2fa".into(),
        };
        apply_change(&mut text, change);
        assert_eq!(text, "rule a: x\nrule b: role.2fa\n");
        // A range past the end appends.
        let change = lt::TextDocumentContentChangeEvent {
            range: Some(lt::Range::new(lt::Position::new(9, 0), lt::Position::new(9, 3))),
            range_length: None,
            text: "#".into(),
        };
        apply_change(&mut text, change);
        assert!(text.ends_with("#"));
    }
}
