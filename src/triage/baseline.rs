//! Baselines (`--baseline FILE`): an earlier JSON report, whose findings are accepted as
//! they are. A finding of this run is `existing` when the baseline holds one with the same
//! [`FindingKey`], and `new` otherwise; findings of the baseline matched by none are
//! `fixed`.
//!
//! Only the JSON document (`--format json`, or `tenet baseline`) is read: it carries the
//! report format version (`"tenet": 1`), so a report of another version is refused instead
//! of being misread. The file is read as a stream and only the four parts of each finding's
//! key are kept.

use crate::finding::FindingKey;
use crate::fsio;
use serde::de::{self, Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use std::collections::HashMap;
use std::fmt;
use std::path::Path;

/// The report format version this tenet writes and reads.
pub const REPORT_VERSION: u64 = 1;

/// The findings of a baseline report: how many of each key (two findings can share one,
/// e.g. two entities with the same id).
#[derive(Debug, Default)]
pub struct Baseline {
    pub keys: HashMap<FindingKey, u32>,
    /// How many findings of the baseline were read.
    pub total: u64,
}

impl Baseline {
    /// Takes one finding with this key out of the baseline: true when there was one.
    pub fn take(&mut self, key: &FindingKey) -> bool {
        match self.keys.get_mut(key) {
            Some(n) if *n > 0 => {
                *n -= 1;
                true
            }
            _ => false,
        }
    }

    /// The findings of the baseline that no finding took.
    pub fn left(&self) -> u64 {
        self.keys.values().map(|&n| u64::from(n)).sum()
    }
}

/// Reads a baseline report. The error names the file and says what is wrong.
pub fn read(path: &Path, shown: &str) -> Result<Baseline, String> {
    let (file, _) = fsio::open_regular(path, shown)?;
    let reader = std::io::BufReader::with_capacity(1 << 16, file);
    let mut de = serde_json::Deserializer::from_reader(reader);
    let parsed = Report::deserialize(&mut de).and_then(|r| de.end().map(|()| r));
    match parsed {
        Ok(Report { version: Some(REPORT_VERSION), baseline }) => Ok(baseline),
        Ok(Report { version: Some(v), .. }) => Err(wrong_version(shown, &v.to_string())),
        Ok(Report { version: None, .. }) => Err(not_a_report(shown, "it has no `tenet` field")),
        Err(e) => {
            let msg = e.to_string();
            if let Some(v) = msg.strip_prefix(VERSION_MARK) {
                let v = v.split(" at line ").next().unwrap_or(v);
                return Err(wrong_version(shown, v));
            }
            if looks_like_jsonl(path, shown) {
                return Err(format!(
                    "baseline `{shown}` is a JSONL report; a baseline is a JSON report (`--format json`, \
                     or write one with `tenet baseline -o FILE`), which records the report format version"
                ));
            }
            Err(not_a_report(shown, &msg))
        }
    }
}

fn wrong_version(shown: &str, v: &str) -> String {
    format!(
        "baseline `{shown}` is a report of tenet format version {v}; this tenet reads version {REPORT_VERSION} \
         (write a new one with `tenet baseline -o FILE`)"
    )
}

fn not_a_report(shown: &str, why: &str) -> String {
    format!("baseline `{shown}` is not a tenet JSON report: {why} (write one with `tenet baseline -o FILE`)")
}

/// Whether the file's first line is a JSON object that a JSONL report starts with.
fn looks_like_jsonl(path: &Path, shown: &str) -> bool {
    use std::io::{BufRead, Read};
    let Ok((file, _)) = fsio::open_regular(path, shown) else { return false };
    let mut first = Vec::new();
    if std::io::BufReader::new(file.take(1 << 20)).read_until(b'\n', &mut first).is_err() {
        return false;
    }
    match serde_json::from_slice::<serde_json::Value>(&first) {
        Ok(serde_json::Value::Object(o)) => o.contains_key("summary") || o.contains_key("rule"),
        _ => false,
    }
}

/// The start of the error raised as soon as the `tenet` field holds another version (the
/// findings of another version may not even parse as ours).
const VERSION_MARK: &str = "\u{0}tenet-version:";

struct Report {
    version: Option<u64>,
    baseline: Baseline,
}

impl<'de> Deserialize<'de> for Report {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(ReportVisitor)
    }
}

struct ReportVisitor;

impl<'de> Visitor<'de> for ReportVisitor {
    type Value = Report;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object (a tenet report)")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Report, A::Error> {
        let mut report = Report { version: None, baseline: Baseline::default() };
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "tenet" => {
                    let v: serde_json::Value = map.next_value()?;
                    match v.as_u64() {
                        Some(REPORT_VERSION) => report.version = Some(REPORT_VERSION),
                        _ => return Err(de::Error::custom(format!("{VERSION_MARK}{v}"))),
                    }
                }
                "findings" => {
                    if report.version.is_none() {
                        return Err(de::Error::custom("`findings` before the `tenet` version field"));
                    }
                    map.next_value_seed(FindingsSeed(&mut report.baseline))?;
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(report)
    }
}

struct FindingsSeed<'a>(&'a mut Baseline);

impl<'de> de::DeserializeSeed<'de> for FindingsSeed<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for FindingsSeed<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a list of findings")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some(f) = seq.next_element::<KeyParts>()? {
            self.0.total += 1;
            // An `input` finding (no policy) is about reading, not about a rule.
            let Some(policy) = f.policy else { continue };
            let key = FindingKey::new(&policy, &f.rule, &f.tenant, f.subject.id.as_deref(), &f.subject.path);
            *self.0.keys.entry(key).or_insert(0) += 1;
        }
        Ok(())
    }
}

/// The parts of a finding its key is made of; every other field is skipped.
#[derive(serde::Deserialize)]
struct KeyParts {
    policy: Option<String>,
    rule: String,
    tenant: String,
    subject: SubjectParts,
}

#[derive(serde::Deserialize)]
struct SubjectParts {
    id: Option<String>,
    path: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_text(name: &str, text: &[u8]) -> Result<Baseline, String> {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        read(&p, name)
    }

    #[test]
    fn keys_are_counted_and_input_findings_skipped() {
        let f = |policy: &str, subject: &str| {
            format!(
                r#"{{"tenant": "t", "policy": {policy}, "rule": "r", "message": "m", "subject": {{"kind": "user", "id": {subject}, "path": "users[0]"}}}}"#
            )
        };
        let doc = format!(
            r#"{{"tenet": 1, "now": "x", "summary": {{}}, "findings": [{}, {}, {}, {}]}}"#,
            f("\"p\"", "\"u1\""),
            f("\"p\"", "\"u1\""),
            f("\"p\"", "null"),
            f("null", "null")
        );
        let mut b = read_text("b.json", doc.as_bytes()).unwrap();
        assert_eq!(b.total, 4);
        assert_eq!(b.left(), 3);
        let by_id = FindingKey::new("p", "r", "t", Some("u1"), "users[0]");
        let by_path = FindingKey::new("p", "r", "t", None, "users[0]");
        assert_eq!(b.keys.get(&by_id), Some(&2));
        assert!(b.take(&by_path) && b.take(&by_id) && b.take(&by_id) && !b.take(&by_id));
    }

    #[test]
    fn other_versions_and_other_files_are_refused() {
        let e = read_text("v2.json", br#"{"tenet": 2, "findings": [{"new": "shape"}]}"#).unwrap_err();
        assert!(e.contains("format version 2; this tenet reads version 1"), "{e}");
        let e = read_text("none.json", br#"{"findings": []}"#).unwrap_err();
        assert!(e.contains("not a tenet JSON report"), "{e}");
        let e = read_text("l.jsonl", b"{\"tenant\": \"t\", \"rule\": \"r\"}\n{\"summary\": {}}\n").unwrap_err();
        assert!(e.contains("is a JSONL report"), "{e}");
        let e = read_text("bad.json", b"{\"tenet\": 1, \"findings\": [\xff]}").unwrap_err();
        assert!(e.contains("not a tenet JSON report") && e.contains("line 1"), "{e}");
        let e = read_text("trail.json", b"{\"tenet\": 1} x").unwrap_err();
        assert!(e.contains("trailing characters"), "{e}");
    }
}
