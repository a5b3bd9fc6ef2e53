//! Export files → the rows of the adapter's tables.
//!
//! Frappe: every `.json` file is one JSON value: a REST response (`{"data": …}` or
//! `{"message": …}`), a `bench export-json` array, or a single document; each document goes
//! to the table of its `doctype`, or else to the table its file is named after. `.csv`
//! files (comma- or tab-separated, with a header row) go by file name.
//! SuiteQL: every `.json` file holds one or more response pages, concatenated; the file
//! is named after its table, optionally with a page number (`role.2.json`). Pages are put
//! in `offset` order, and the rows must add up to `totalResults` with no page left
//! (`hasMore`), so that an incomplete export is an error rather than a smaller tenant.
//!
//! Every row keeps where its record is written (file, line, column: the record's `{` in
//! JSON, the start of its line in CSV), so that findings point into the export files
//! (`super::origin`). JSON is read through `RawValue`s, which give each record's place in
//! the text, and each record is then parsed on its own.
//!
//! A file that cannot be read is a [`Failure`] that names it and points at the problem:
//! the line and column of a JSON syntax error, the line of a bad CSV record, the document,
//! page or item of the wrong shape, the page that breaks SuiteQL paging; else the file's
//! start.

use super::adapter::{normalize_name, Adapter, Reader};
use super::origin::Lines;
use super::Failure;
use crate::finding::Location;
use serde_json::value::RawValue;
use serde_json::{Map, Value as J};
use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

pub type Row = Map<String, J>;

/// A row, and where its record is written in the export.
#[derive(Debug, Clone)]
pub struct Record {
    pub row: Row,
    pub at: Location,
}

/// One export file, read.
pub struct FileIn<'a> {
    pub path: &'a Path,
    pub shown: &'a str,
}

/// The rows of every table of an adapter, for one tenant.
#[derive(Default)]
pub struct Tables {
    /// Per table: `None` when no file filled it (so its kind stays absent).
    pub rows: Vec<Option<Vec<Record>>>,
    /// Per table: the files that filled it, as shown.
    pub files: Vec<Vec<String>>,
    /// Notes for the import report (documents ignored, suspicious page sizes).
    pub notes: Vec<String>,
    /// SuiteQL pages per table: (offset, rows, hasMore, totalResults, file).
    pages: Vec<Vec<Page>>,
}

struct Page {
    offset: Option<u64>,
    rows: Vec<Record>,
    has_more: bool,
    total: Option<u64>,
    file: String,
    /// Where the page starts (its `{`).
    at: Location,
}

/// Frappe's default page size: a list response of exactly this many rows was likely cut.
const FRAPPE_PAGE: usize = 20;

impl Tables {
    pub fn new(adapter: &Adapter) -> Tables {
        let n = adapter.tables.len();
        Tables {
            rows: (0..n).map(|_| None).collect(),
            files: vec![Vec::new(); n],
            notes: Vec::new(),
            pages: (0..n).map(|_| Vec::new()).collect(),
        }
    }

    /// Reads one file into the tables; an error names the file.
    pub fn read(&mut self, adapter: &Adapter, f: &FileIn, limit: u64) -> Result<(), Failure> {
        let bytes = crate::fsio::read_file(f.path, f.shown, limit).map_err(|m| Failure::in_file(m, f.shown))?;
        let text = std::str::from_utf8(&bytes).map_err(|e| {
            let valid = std::str::from_utf8(&bytes[..e.valid_up_to()]).unwrap_or_default();
            Failure {
                message: format!("`{}` is not UTF-8 text (invalid byte at offset {})", f.shown, e.valid_up_to()),
                at: Lines::new(valid).location(&Arc::from(f.shown), valid.len()),
            }
        })?;
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let name = f.path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let lower = name.to_ascii_lowercase();
        let (stem, ext) = match lower.rsplit_once('.') {
            Some((s, e)) => (s.to_string(), e.to_string()),
            None => (lower.clone(), String::new()),
        };
        // `role.2.json`: page 2 of `role`.
        let stem = match stem.rsplit_once('.') {
            Some((s, n)) if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) => s.to_string(),
            _ => stem,
        };
        let by_name = adapter.tables.iter().position(|t| t.files.contains(&normalize_name(&stem)));
        match (adapter.reader, ext.as_str()) {
            (_, "csv") => {
                let t = by_name.ok_or_else(|| Failure::in_file(unrecognised(adapter, f.shown), f.shown))?;
                let file: Arc<str> = Arc::from(f.shown);
                let rows = csv_rows(text, f.shown)
                    .map_err(|(message, line)| Failure { message, at: Location::new(file.clone(), line, 1) })?
                    .into_iter()
                    .map(|(row, line)| Record { row, at: Location::new(file.clone(), line, 1) })
                    .collect();
                self.add(t, rows, f.shown);
                Ok(())
            }
            (Reader::Frappe, _) => self.frappe(adapter, text, f.shown, by_name),
            (Reader::SuiteQl, _) => {
                let t = by_name.ok_or_else(|| Failure::in_file(unrecognised(adapter, f.shown), f.shown))?;
                self.suiteql(t, text, f.shown)
            }
        }
    }

    fn add(&mut self, t: usize, rows: Vec<Record>, shown: &str) {
        self.rows[t].get_or_insert_with(Vec::new).extend(rows);
        if !self.files[t].iter().any(|s| s == shown) {
            self.files[t].push(shown.to_string());
        }
    }

    fn frappe(&mut self, adapter: &Adapter, text: &str, shown: &str, by_name: Option<usize>) -> Result<(), Failure> {
        let file: Arc<str> = Arc::from(shown);
        let invalid = |part: &str, e: serde_json::Error| invalid_json(text, part, &file, e);
        let at = |part: &str| Lines::new(text).location(&file, offset_of(text, part));
        let top: &RawValue = serde_json::from_str(text).map_err(|e| invalid(text, e))?;
        // A REST response wraps its documents in `data` (or `message`), unless the object
        // is itself a document.
        let mut inner = top;
        let mut listed = false;
        if top.get().starts_with('{') {
            let members: HashMap<String, &RawValue> =
                serde_json::from_str(top.get()).map_err(|e| invalid(top.get(), e))?;
            if !members.contains_key("doctype") {
                if let Some(v) = members.get("data").or_else(|| members.get("message")) {
                    inner = v;
                    listed = v.get().starts_with('[');
                }
            }
        }
        let docs: Vec<&RawValue> = match inner.get().as_bytes().first() {
            Some(b'[') => serde_json::from_str(inner.get()).map_err(|e| invalid(inner.get(), e))?,
            Some(b'{') => vec![inner],
            _ => {
                return Err(Failure {
                    message: format!(
                        "`{shown}`: expected Frappe documents (an object, a list, or {{\"data\": …}}), found {}",
                        raw_type_name(inner)
                    ),
                    at: at(inner.get()),
                })
            }
        };
        let n = docs.len();
        let mut lines = Lines::new(text);
        let mut ignored: Vec<String> = Vec::new();
        let mut per_table: Vec<Vec<Record>> = vec![Vec::new(); adapter.tables.len()];
        for (i, d) in docs.into_iter().enumerate() {
            let Ok(J::Object(o)) = serde_json::from_str::<J>(d.get()) else {
                return Err(Failure {
                    message: format!("`{shown}`: item {} is {}, not a document (an object)", i + 1, raw_type_name(d)),
                    at: at(d.get()),
                });
            };
            let t = match o.get("doctype") {
                Some(J::String(dt)) => match adapter.tables.iter().position(|t| t.doctype.as_deref() == Some(dt)) {
                    Some(t) => t,
                    None => {
                        if !ignored.contains(dt) {
                            ignored.push(dt.clone());
                        }
                        continue;
                    }
                },
                _ => by_name.ok_or_else(|| Failure::in_file(unrecognised(adapter, shown), shown))?,
            };
            let at = lines.location(&file, offset_of(text, d.get()));
            per_table[t].push(Record { row: o, at });
        }
        if !ignored.is_empty() {
            self.notes.push(format!("`{shown}`: documents of doctype {} are not imported", ignored.join(", ")));
        }
        if listed && n == FRAPPE_PAGE {
            self.notes.push(format!(
                "`{shown}` holds exactly {FRAPPE_PAGE} rows, Frappe's default page size: was the list cut? \
                 (ask for all rows with `limit_page_length=0`)"
            ));
        }
        for (t, rows) in per_table.into_iter().enumerate() {
            if !rows.is_empty() {
                self.add(t, rows, shown);
            }
        }
        Ok(())
    }

    fn suiteql(&mut self, t: usize, text: &str, shown: &str) -> Result<(), Failure> {
        let file: Arc<str> = Arc::from(shown);
        let invalid = |part: &str, e: serde_json::Error| invalid_json(text, part, &file, e);
        let at = |part: &str| Lines::new(text).location(&file, offset_of(text, part));
        let mut lines = Lines::new(text);
        let mut any = false;
        for (i, page) in serde_json::Deserializer::from_str(text).into_iter::<&RawValue>().enumerate() {
            let page = page.map_err(|e| invalid(text, e))?;
            if !page.get().starts_with('{') {
                return Err(Failure {
                    message: format!("`{shown}`: page {} is {}, not a SuiteQL response", i + 1, raw_type_name(page)),
                    at: at(page.get()),
                });
            }
            let members: HashMap<String, &RawValue> =
                serde_json::from_str(page.get()).map_err(|e| invalid(page.get(), e))?;
            let items: Vec<&RawValue> = match members.get("items") {
                Some(items) if items.get().starts_with('[') => {
                    serde_json::from_str(items.get()).map_err(|e| invalid(items.get(), e))?
                }
                _ => {
                    return Err(Failure {
                        message: format!(
                            "`{shown}`: page {} is not a SuiteQL response (no `items` list; expected \
                             {{\"links\", \"count\", \"hasMore\", \"items\", \"offset\", \"totalResults\"}})",
                            i + 1
                        ),
                        at: at(page.get()),
                    })
                }
            };
            let mut rows = Vec::with_capacity(items.len());
            for (j, item) in items.into_iter().enumerate() {
                let Ok(J::Object(mut o)) = serde_json::from_str::<J>(item.get()) else {
                    return Err(Failure {
                        message: format!("`{shown}`: page {}, item {} is not an object", i + 1, j + 1),
                        at: at(item.get()),
                    });
                };
                o.remove("links");
                rows.push(Record { row: o, at: lines.location(&file, offset_of(text, item.get())) });
            }
            let member = |k: &str| members.get(k).and_then(|v| serde_json::from_str::<J>(v.get()).ok());
            let has_more = matches!(member("hasMore"), Some(J::Bool(true)));
            let num = |k: &str| member(k).and_then(|v| v.as_u64());
            self.pages[t].push(Page {
                offset: num("offset"),
                rows,
                has_more,
                total: num("totalResults"),
                file: shown.to_string(),
                at: at(page.get()),
            });
            any = true;
        }
        if !any {
            return Err(Failure::in_file(format!("`{shown}` is empty (expected SuiteQL response pages)"), shown));
        }
        if !self.files[t].iter().any(|s| s == shown) {
            self.files[t].push(shown.to_string());
        }
        Ok(())
    }

    /// Puts SuiteQL pages together (in `offset` order) and checks that none is missing; an
    /// error points at the page to blame (the second of two at one offset, the last one
    /// when it says there are more, the one whose `totalResults` the rows do not match).
    pub fn finish(&mut self, adapter: &Adapter) -> Result<(), Failure> {
        for t in 0..self.pages.len() {
            let mut pages = std::mem::take(&mut self.pages[t]);
            if pages.is_empty() {
                continue;
            }
            pages.sort_by_key(|p| p.offset.unwrap_or(0));
            let name = &adapter.tables[t].name;
            for w in pages.windows(2) {
                if w[0].offset.is_some() && w[0].offset == w[1].offset {
                    return Err(Failure {
                        message: format!(
                            "table `{name}`: two pages at offset {} (`{}` and `{}`): a page given twice?",
                            w[0].offset.unwrap_or(0),
                            w[0].file,
                            w[1].file
                        ),
                        at: w[1].at.clone(),
                    });
                }
            }
            // The largest `totalResults`, and the first page that says it.
            let total = pages.iter().filter_map(|p| Some((p.total?, p))).min_by_key(|(t, _)| std::cmp::Reverse(*t));
            let total = total.map(|(t, p)| (t, p.at.clone()));
            let rows: Vec<Record> = pages.iter_mut().flat_map(|p| std::mem::take(&mut p.rows)).collect();
            if let Some(last) = pages.last().filter(|p| p.has_more) {
                return Err(Failure {
                    message: format!(
                        "table `{name}` is incomplete: the last page (`{}`) says `hasMore: true`; export the remaining pages",
                        last.file
                    ),
                    at: last.at.clone(),
                });
            }
            if let Some((total, says)) = total {
                if rows.len() as u64 != total {
                    return Err(Failure {
                        message: format!(
                            "table `{name}` is incomplete or repeated: {} rows in its pages, `totalResults` says {total}",
                            rows.len()
                        ),
                        at: says,
                    });
                }
            }
            self.rows[t].get_or_insert_with(Vec::new).extend(rows);
        }
        // Rows with the same key, from any file, are one row (later files add and override
        // columns); a single table is one row. The merged row's record is its first one.
        for (t, spec) in adapter.tables.iter().enumerate() {
            let Some(rows) = self.rows[t].take() else { continue };
            let merged = if spec.single {
                let start = Location::new(Arc::from(self.files[t].first().map_or("", String::as_str)), 1, 1);
                let mut rows = rows.into_iter();
                let mut one = rows.next().unwrap_or(Record { row: Row::new(), at: start });
                for r in rows {
                    one.row.extend(r.row);
                }
                vec![one]
            } else if let Some(key) = &spec.key {
                let mut out: Vec<Record> = Vec::new();
                let mut at: HashMap<String, usize> = HashMap::new();
                for r in rows {
                    let k = r.row.get(key).and_then(scalar_key);
                    match k.and_then(|k| at.get(&k).copied().map(|i| (k, i))) {
                        Some((_, i)) => out[i].row.extend(r.row),
                        None => {
                            if let Some(k) = r.row.get(key).and_then(scalar_key) {
                                at.insert(k, out.len());
                            }
                            out.push(r);
                        }
                    }
                }
                out
            } else {
                rows
            };
            self.rows[t] = Some(merged);
        }
        Ok(())
    }
}

/// A key value as text (ids may be numbers or strings).
pub fn scalar_key(v: &J) -> Option<String> {
    match v {
        J::String(s) => Some(s.clone()),
        J::Number(n) => Some(n.to_string()),
        J::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn unrecognised(adapter: &Adapter, shown: &str) -> String {
    let names: Vec<&str> = adapter.tables.iter().map(|t| t.name.as_str()).collect();
    let how = match adapter.reader {
        Reader::Frappe => "holds no documents with a `doctype` and is not named after a table",
        Reader::SuiteQl => "is not named after a table",
    };
    format!("unrecognised export file `{shown}`: it {how} the {} adapter reads ({})", adapter.name, names.join(", "))
}

/// Where `part`, a slice of `text`, starts in it.
fn offset_of(text: &str, part: &str) -> usize {
    (part.as_ptr() as usize).saturating_sub(text.as_ptr() as usize).min(text.len())
}

/// `file` (`text`) is not valid JSON: serde_json's error `e`, met while parsing `part` (a
/// slice of `text`), at its place.
fn invalid_json(text: &str, part: &str, file: &Arc<str>, e: serde_json::Error) -> Failure {
    Failure {
        message: format!("`{file}` is not valid JSON: {e}"),
        at: Lines::new(text).location(file, error_offset(text, part, &e)),
    }
}

/// Where in `text` serde_json's error `e`, met while parsing `part` (a slice of `text`), is:
/// its line and column count within `part`, the column in bytes (the offending byte's, or
/// `0` at the end of the input).
fn error_offset(text: &str, part: &str, e: &serde_json::Error) -> usize {
    let mut line_start = 0;
    for _ in 1..e.line() {
        match part[line_start..].find('\n') {
            Some(i) => line_start += i + 1,
            None => break,
        }
    }
    let line_end = part[line_start..].find('\n').map_or(part.len(), |i| line_start + i);
    let mut at = (line_start + e.column().saturating_sub(1)).min(line_end);
    while !part.is_char_boundary(at) {
        at -= 1;
    }
    offset_of(text, part) + at
}

/// The type of a JSON value, for messages (the value is valid JSON).
fn raw_type_name(raw: &RawValue) -> &'static str {
    serde_json::from_str::<J>(raw.get()).map_or("not JSON", |v| type_name(&v, "an object"))
}

/// The type of a value, for messages: `a boolean`, `a list`, … and `object` for a map (JSON
/// files say `an object`, YAML overlays `a mapping`).
pub(super) fn type_name(v: &J, object: &'static str) -> &'static str {
    match v {
        J::Null => "null",
        J::Bool(_) => "a boolean",
        J::Number(_) => "a number",
        J::String(_) => "a string",
        J::Array(_) => "a list",
        J::Object(_) => object,
    }
}

/// CSV rows with a header, each with the line it starts on; tab-separated when the header
/// has a tab (`mysql --batch`). Empty cells and `NULL` are absent. An error gives the line
/// of the record at fault.
fn csv_rows(text: &str, shown: &str) -> Result<Vec<(Row, u64)>, (String, u64)> {
    let header = text.lines().next().unwrap_or("");
    let delim = if header.contains('\t') { b'\t' } else { b',' };
    let mut rd = csv::ReaderBuilder::new().delimiter(delim).flexible(false).from_reader(text.as_bytes());
    let invalid = |e: csv::Error| (format!("`{shown}` is not valid CSV: {e}"), e.position().map_or(1, |p| p.line()));
    let names: Vec<String> = rd.headers().map_err(invalid)?.iter().map(|h| h.trim().to_string()).collect();
    let mut out = Vec::new();
    for rec in rd.records() {
        let rec = rec.map_err(invalid)?;
        let mut row = Row::new();
        for (n, v) in names.iter().zip(rec.iter()) {
            if !v.is_empty() && v != "NULL" {
                row.insert(n.clone(), J::String(v.to_string()));
            }
        }
        out.push((row, rec.position().map_or(1, |p| p.line())));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_with_tabs_or_commas() {
        let r = csv_rows("user\tstatus\tdevice\na@x\tActive\tNULL\n", "s.csv").unwrap_or_default();
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].0.get("user"), Some(&J::String("a@x".into())));
        assert!(r[0].0.get("device").is_none());
        assert_eq!(r[0].1, 2);
        // A quoted cell over two lines: the next row starts two lines further.
        let r = csv_rows("user,status\n\"b,c\",Active\n\"d\ne\",x\nf,y\n", "s.csv").unwrap_or_default();
        assert_eq!(r[0].0.get("user"), Some(&J::String("b,c".into())));
        assert_eq!(r.iter().map(|(_, l)| *l).collect::<Vec<_>>(), vec![2, 3, 5]);
        assert!(csv_rows("a,b\n1,2,3\n", "s.csv").is_err());
    }
}
