//! docs/api.md shows real answers: every example is a ```http block (the request) followed by a
//! ```json or ```csv block (the answer), and this test sends each request to the real
//! application with the demo data and a fixed today, and fails, naming the example, when the
//! documented answer differs from the real one. `UPDATE_API_DOCS=1 cargo test --test it
//! api_docs` rewrites the answers in place (review the diff).
//!
//! An example may leave parts out, explicitly, with `…` (U+2026):
//! - the string `"…"` as a value stands for any value;
//! - an object with the member `"…": "…"` may have more members than it shows;
//! - an array ending with `"…"` may have more elements than it shows;
//! - a CSV answer ending with a line `…` may have more rows.
//!
//! Anything not elided must match exactly; an extra member, element or row the example does not
//! show is a difference. The endpoints table must list every path of the OpenAPI description.

use chrono::NaiveDate;
use envcredit::config::Config;
use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

use crate::helpers::*;

const DOC: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/api.md");
/// The example answers are given on this day (Asia/Shanghai): it decides `as_of`, `overdue`
/// and `provisional` in answers.
const TODAY: (i32, u32, u32) = (2026, 11, 28);
const ELIDED: &str = "…";
/// Rewritten answers keep to this width where a value fits on one line.
const WIDTH: usize = 100;

#[actix_web::test]
async fn api_docs_examples_are_real_answers() {
    let text = std::fs::read_to_string(DOC).expect("read docs/api.md");
    let lines: Vec<&str> = text.lines().collect();
    let examples = examples(&lines);
    assert!(
        examples.len() >= 10,
        "docs/api.md: expected the examples as ```http + ```json/```csv blocks, found {}",
        examples.len()
    );

    let db = TestDb::sqlite();
    let mut config = Config::defaults(true);
    config.listen = "127.0.0.1:0".into();
    config.database_url = db.url.clone();
    let (y, m, d) = TODAY;
    let app = spawn_app(config, date(y, m, d)).await;

    let update = std::env::var("UPDATE_API_DOCS").is_ok_and(|v| v == "1");
    let mut failures = Vec::new();
    let mut rewrites: Vec<(usize, usize, Vec<String>)> = Vec::new();
    for example in &examples {
        let name = format!(
            "docs/api.md:{} `{}`",
            example.request_line + 1,
            example.title
        );
        let (status, body) = match send(&app, &example.request).await {
            Ok(answer) => answer,
            Err(error) => {
                failures.push(format!("{name}: {error}"));
                continue;
            }
        };
        let (mismatch, rewritten) = match example.answer.kind {
            AnswerKind::Json => {
                let documented: J = match serde_json::from_str(&example.answer.text) {
                    Ok(value) => value,
                    Err(error) => {
                        failures.push(format!(
                            "{name}: the documented answer is not JSON: {error}"
                        ));
                        continue;
                    }
                };
                let real: J = match serde_json::from_str(&body) {
                    Ok(value) => value,
                    Err(error) => {
                        failures.push(format!(
                            "{name}: the real answer is not JSON ({error}): {body}"
                        ));
                        continue;
                    }
                };
                let wanted_status = documented.problem_status().unwrap_or(200);
                let mismatch = if status != wanted_status {
                    Some(format!(
                        "status {status}, the example implies {wanted_status}"
                    ))
                } else {
                    difference(&documented, &real, "$")
                };
                let shaped = shape(&documented, &real);
                (mismatch, format_json(&shaped, 0, 0))
            }
            AnswerKind::Csv => {
                let mismatch = if status != 200 {
                    Some(format!("status {status}: {body}"))
                } else {
                    csv_difference(&example.answer.text, &body)
                };
                (mismatch, shape_csv(&example.answer.text, &body))
            }
        };
        if let Some(mismatch) = mismatch {
            failures.push(format!("{name}: {mismatch}"));
        }
        rewrites.push((
            example.answer.first_line,
            example.answer.end_line,
            rewritten.lines().map(str::to_string).collect(),
        ));
    }

    if update {
        let mut out: Vec<String> = Vec::new();
        let mut next = 0;
        for (first, end, new_lines) in &rewrites {
            out.extend(lines[next..*first].iter().map(|l| l.to_string()));
            out.extend(new_lines.iter().cloned());
            next = *end;
        }
        out.extend(lines[next..].iter().map(|l| l.to_string()));
        std::fs::write(DOC, out.join("\n") + "\n").expect("write docs/api.md");
        return;
    }
    assert!(
        failures.is_empty(),
        "docs/api.md differs from the real answers (demo data, today {}); check the change, then \
         run `UPDATE_API_DOCS=1 cargo test --test it api_docs` and review the diff:\n{}",
        NaiveDate::from_ymd_opt(y, m, d).expect("date"),
        failures.join("\n")
    );
}

/// The endpoints table names every path of the OpenAPI description, and nothing else.
#[test]
fn api_docs_list_every_endpoint() {
    let text = std::fs::read_to_string(DOC).expect("read docs/api.md");
    let table = endpoint_table_paths(&text);
    let spec = serde_json::to_value(envcredit::web::api::document()).expect("serializes");
    let paths: Vec<String> = spec["paths"]
        .as_object()
        .expect("paths")
        .keys()
        .cloned()
        .collect();
    let missing: Vec<&String> = paths.iter().filter(|p| !table.contains(p)).collect();
    let unknown: Vec<&String> = table.iter().filter(|p| !paths.contains(p)).collect();
    assert!(
        missing.is_empty() && unknown.is_empty(),
        "docs/api.md, \"## Endpoints\": missing {missing:?}; not in the OpenAPI description {unknown:?}"
    );
}

/// Every backquoted path (starting with `/`) in the second column of the table under
/// "## Endpoints".
fn endpoint_table_paths(text: &str) -> Vec<String> {
    let mut paths = Vec::new();
    let section = text
        .split("\n## Endpoints")
        .nth(1)
        .expect("docs/api.md has a \"## Endpoints\" section");
    for line in section.lines().filter(|l| l.starts_with('|')) {
        let Some(cell) = line.split('|').nth(2) else {
            continue;
        };
        for (i, token) in cell.split('`').enumerate() {
            if i % 2 == 1 && token.starts_with('/') {
                paths.push(token.to_string());
            }
        }
    }
    paths
}

struct Request {
    method: String,
    path: String,
    headers: Vec<(String, String)>,
    body: Option<String>,
}

enum AnswerKind {
    Json,
    Csv,
}

struct Answer {
    kind: AnswerKind,
    text: String,
    /// The answer's lines are `first_line..end_line` of the file (inside the fences).
    first_line: usize,
    end_line: usize,
}

struct Example {
    title: String,
    request_line: usize,
    request: Request,
    answer: Answer,
}

/// The fenced blocks: (info string, first line inside, line of the closing fence).
fn fenced_blocks(lines: &[&str]) -> Vec<(String, usize, usize)> {
    let mut blocks = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        if let Some(info) = lines[i].strip_prefix("```") {
            let first = i + 1;
            let end = (first..lines.len())
                .find(|&j| lines[j].trim_end() == "```")
                .unwrap_or_else(|| panic!("docs/api.md:{}: unclosed code block", i + 1));
            blocks.push((info.trim().to_string(), first, end));
            i = end + 1;
        } else {
            i += 1;
        }
    }
    blocks
}

fn examples(lines: &[&str]) -> Vec<Example> {
    let blocks = fenced_blocks(lines);
    let mut examples = Vec::new();
    for (k, (info, first, end)) in blocks.iter().enumerate() {
        if info != "http" {
            continue;
        }
        let request = parse_request(&lines[*first..*end])
            .unwrap_or_else(|e| panic!("docs/api.md:{}: {e}", first + 1));
        let answer = blocks.get(k + 1).filter(|(info, next_first, _)| {
            (info == "json" || info == "csv")
                && lines[end + 1..next_first - 1]
                    .iter()
                    .all(|l| l.trim().is_empty())
        });
        let Some((info, a_first, a_end)) = answer else {
            panic!(
                "docs/api.md:{}: a ```http example must be followed by its ```json or ```csv answer",
                first + 1
            );
        };
        examples.push(Example {
            title: format!("{} {}", request.method, request.path),
            request_line: *first,
            request,
            answer: Answer {
                kind: if info == "json" {
                    AnswerKind::Json
                } else {
                    AnswerKind::Csv
                },
                text: lines[*a_first..*a_end].join("\n"),
                first_line: *a_first,
                end_line: *a_end,
            },
        });
    }
    examples
}

/// `METHOD PATH`, header lines, and after a blank line the body.
fn parse_request(lines: &[&str]) -> Result<Request, String> {
    let (first, rest) = lines.split_first().ok_or("an empty ```http block")?;
    let (method, path) = first
        .split_once(' ')
        .ok_or_else(|| format!("expected `METHOD /path`, found {first:?}"))?;
    if !path.starts_with('/') {
        return Err(format!("expected `METHOD /path`, found {first:?}"));
    }
    let mut headers = Vec::new();
    let mut body = None;
    for (i, line) in rest.iter().enumerate() {
        if line.trim().is_empty() {
            body = Some(rest[i + 1..].join("\n"));
            break;
        }
        let (name, value) = line
            .split_once(':')
            .ok_or_else(|| format!("expected a header `Name: value`, found {line:?}"))?;
        headers.push((name.trim().to_string(), value.trim().to_string()));
    }
    Ok(Request {
        method: method.to_string(),
        path: path.trim().to_string(),
        headers,
        body,
    })
}

async fn send(app: &TestApp, request: &Request) -> Result<(u16, String), String> {
    let method = reqwest::Method::from_bytes(request.method.as_bytes())
        .map_err(|_| format!("unknown method {:?}", request.method))?;
    let mut builder = app
        .client
        .request(method, format!("{}{}", app.address, request.path));
    for (name, value) in &request.headers {
        builder = builder.header(name, value);
    }
    if let Some(body) = &request.body {
        builder = builder.body(body.clone());
    }
    let response = builder.send().await.map_err(|e| format!("request: {e}"))?;
    let status = response.status().as_u16();
    let body = response.text().await.map_err(|e| format!("body: {e}"))?;
    Ok((status, body))
}

/// JSON with its members in the order the server wrote them (serde_json's own map sorts them),
/// so that rewritten examples read as the answers do.
#[derive(Clone, Debug, PartialEq)]
enum J {
    Null,
    Bool(bool),
    Num(serde_json::Number),
    Str(String),
    Arr(Vec<J>),
    Obj(Vec<(String, J)>),
}

impl J {
    fn is_elided(&self) -> bool {
        matches!(self, J::Str(s) if s == ELIDED)
    }

    fn get(&self, key: &str) -> Option<&J> {
        match self {
            J::Obj(members) => members.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// A problem+json example (`type` `/problems/…` and a numeric `status`) implies its status.
    fn problem_status(&self) -> Option<u16> {
        let is_problem = matches!(self.get("type"), Some(J::Str(t)) if t.starts_with("/problems/"));
        match self.get("status") {
            Some(J::Num(n)) if is_problem => n.as_u64().and_then(|n| u16::try_from(n).ok()),
            _ => None,
        }
    }
}

impl<'de> Deserialize<'de> for J {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<J, D::Error> {
        deserializer.deserialize_any(JVisitor)
    }
}

struct JVisitor;

impl<'de> Visitor<'de> for JVisitor {
    type Value = J;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("JSON")
    }
    fn visit_unit<E>(self) -> Result<J, E> {
        Ok(J::Null)
    }
    fn visit_bool<E>(self, v: bool) -> Result<J, E> {
        Ok(J::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<J, E> {
        Ok(J::Num(v.into()))
    }
    fn visit_u64<E>(self, v: u64) -> Result<J, E> {
        Ok(J::Num(v.into()))
    }
    fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<J, E> {
        serde_json::Number::from_f64(v)
            .map(J::Num)
            .ok_or_else(|| E::custom("not a JSON number"))
    }
    fn visit_str<E>(self, v: &str) -> Result<J, E> {
        Ok(J::Str(v.to_string()))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<J, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(J::Arr(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<J, A::Error> {
        let mut members = Vec::new();
        while let Some((key, value)) = map.next_entry::<String, J>()? {
            members.push((key, value));
        }
        Ok(J::Obj(members))
    }
}

fn elided_members(members: &[(String, J)]) -> bool {
    members.iter().any(|(k, v)| k == ELIDED && v.is_elided())
}

fn elided_tail(items: &[J]) -> bool {
    items.last().is_some_and(J::is_elided)
}

/// The first place where the real answer differs from the documented one, with its path.
fn difference(documented: &J, real: &J, at: &str) -> Option<String> {
    if documented.is_elided() {
        return None;
    }
    match (documented, real) {
        (J::Obj(doc), J::Obj(real_members)) => {
            for (key, value) in doc.iter().filter(|(k, _)| k != ELIDED) {
                match real.get(key) {
                    Some(real_value) => {
                        if let Some(d) = difference(value, real_value, &format!("{at}.{key}")) {
                            return Some(d);
                        }
                    }
                    None => return Some(format!("{at}.{key}: documented, but not in the answer")),
                }
            }
            if !elided_members(doc) {
                if let Some((key, _)) = real_members
                    .iter()
                    .find(|(k, _)| !doc.iter().any(|(d, _)| d == k))
                {
                    return Some(format!(
                        "{at}.{key}: in the answer, not in the example (show it, or elide with \"…\": \"…\")"
                    ));
                }
            }
            None
        }
        (J::Arr(doc), J::Arr(real_items)) => {
            let open = elided_tail(doc);
            let shown = if open {
                &doc[..doc.len() - 1]
            } else {
                &doc[..]
            };
            if real_items.len() < shown.len() || (!open && real_items.len() != shown.len()) {
                return Some(format!(
                    "{at}: {} elements in the answer, the example shows {}{}",
                    real_items.len(),
                    shown.len(),
                    if open { " and more" } else { "" }
                ));
            }
            shown
                .iter()
                .zip(real_items)
                .enumerate()
                .find_map(|(i, (d, r))| difference(d, r, &format!("{at}[{i}]")))
        }
        _ if documented == real => None,
        _ => Some(format!(
            "{at}: documented {}, answered {}",
            compact(documented),
            compact(real)
        )),
    }
}

/// The real answer, cut where the example elides: what `UPDATE_API_DOCS=1` writes.
fn shape(documented: &J, real: &J) -> J {
    if documented.is_elided() {
        return documented.clone();
    }
    match (documented, real) {
        (J::Obj(doc), J::Obj(real_members)) => {
            let open = elided_members(doc);
            let mut members: Vec<(String, J)> = real_members
                .iter()
                .filter_map(|(key, value)| match documented.get(key) {
                    Some(d) => Some((key.clone(), shape(d, value))),
                    None if open => None,
                    None => Some((key.clone(), value.clone())),
                })
                .collect();
            if open {
                members.push((ELIDED.to_string(), J::Str(ELIDED.to_string())));
            }
            J::Obj(members)
        }
        (J::Arr(doc), J::Arr(real_items)) => {
            let open = elided_tail(doc);
            let shown = if open {
                doc.len() - 1
            } else {
                real_items.len()
            };
            let mut items: Vec<J> = real_items
                .iter()
                .take(shown)
                .enumerate()
                .map(|(i, r)| match doc.get(i).filter(|d| !d.is_elided()) {
                    Some(d) => shape(d, r),
                    None => r.clone(),
                })
                .collect();
            if open && real_items.len() > shown {
                items.push(J::Str(ELIDED.to_string()));
            }
            J::Arr(items)
        }
        _ => real.clone(),
    }
}

fn compact(value: &J) -> String {
    match value {
        J::Null => "null".into(),
        J::Bool(b) => b.to_string(),
        J::Num(n) => n.to_string(),
        J::Str(s) => serde_json::to_string(s).expect("a string serializes"),
        J::Arr(items) => format!(
            "[{}]",
            items.iter().map(compact).collect::<Vec<_>>().join(",")
        ),
        J::Obj(members) => format!(
            "{{{}}}",
            members
                .iter()
                .map(|(k, v)| format!("{}:{}", compact(&J::Str(k.clone())), compact(v)))
                .collect::<Vec<_>>()
                .join(",")
        ),
    }
}

/// On one line when it fits in `WIDTH` after `column` characters; otherwise the members (or
/// elements) are packed onto lines indented by two, as many as fit, and one that does not fit
/// on a line of its own is laid out the same way, recursively.
fn format_json(value: &J, indent: usize, column: usize) -> String {
    let one_line = compact(value);
    if column + one_line.chars().count() <= WIDTH {
        return one_line;
    }
    let pieces: Vec<(String, &J)> = match value {
        J::Arr(items) if !items.is_empty() => items.iter().map(|v| (String::new(), v)).collect(),
        J::Obj(members) if !members.is_empty() => members
            .iter()
            .map(|(k, v)| (format!("{}:", compact(&J::Str(k.clone()))), v))
            .collect(),
        _ => return one_line,
    };
    let (open, close) = if matches!(value, J::Arr(_)) {
        ("[", "]")
    } else {
        ("{", "}")
    };
    let inner = indent + 2;
    let mut lines: Vec<String> = Vec::new();
    let mut current = String::new();
    for (key, item) in pieces {
        let piece = format!("{key}{}", compact(item));
        let width = piece.chars().count();
        // Joined with a comma, and room left for the comma that follows the line.
        if !current.is_empty() && inner + current.chars().count() + 1 + width < WIDTH {
            current = format!("{current},{piece}");
        } else if inner + width < WIDTH {
            if !current.is_empty() {
                lines.push(std::mem::take(&mut current));
            }
            current = piece;
        } else {
            if !current.is_empty() {
                lines.push(std::mem::take(&mut current));
            }
            let column = inner + key.chars().count();
            lines.push(format!("{key}{}", format_json(item, inner, column)));
        }
    }
    if !current.is_empty() {
        lines.push(current);
    }
    let pad = " ".repeat(inner);
    let body: Vec<String> = lines.iter().map(|l| format!("{pad}{l}")).collect();
    format!(
        "{open}\n{}\n{}{close}",
        body.join(",\n"),
        " ".repeat(indent)
    )
}

fn csv_difference(documented: &str, real: &str) -> Option<String> {
    let doc: Vec<&str> = documented.lines().collect();
    let real: Vec<&str> = real.lines().collect();
    let open = doc.last().is_some_and(|l| l.trim() == ELIDED);
    let shown = if open {
        &doc[..doc.len() - 1]
    } else {
        &doc[..]
    };
    if let Some((i, (d, r))) = shown
        .iter()
        .zip(&real)
        .enumerate()
        .find(|(_, (d, r))| d != r)
    {
        return Some(format!(
            "CSV line {}: documented {d:?}, answered {r:?}",
            i + 1
        ));
    }
    if real.len() < shown.len() || (!open && real.len() != shown.len()) {
        return Some(format!(
            "{} CSV lines in the answer, the example shows {}{}",
            real.len(),
            shown.len(),
            if open { " and more" } else { "" }
        ));
    }
    None
}

fn shape_csv(documented: &str, real: &str) -> String {
    let doc: Vec<&str> = documented.lines().collect();
    let real: Vec<&str> = real.lines().collect();
    let open = doc.last().is_some_and(|l| l.trim() == ELIDED);
    if !open {
        return real.join("\n");
    }
    let shown = doc.len() - 1;
    let mut lines: Vec<&str> = real.iter().take(shown).copied().collect();
    if real.len() > shown {
        lines.push(ELIDED);
    }
    lines.join("\n")
}

#[test]
fn elision_is_explicit() {
    let doc: J = serde_json::from_str(r#"{"a":1,"b":"…","c":[1,"…"],"…":"…"}"#).unwrap();
    let real: J = serde_json::from_str(r#"{"a":1,"b":{"x":2},"c":[1,2,3],"d":4}"#).unwrap();
    assert_eq!(difference(&doc, &real, "$"), None);
    let wrong: J = serde_json::from_str(r#"{"a":2,"b":0,"c":[1]}"#).unwrap();
    assert_eq!(
        difference(&doc, &wrong, "$").as_deref(),
        Some("$.a: documented 1, answered 2")
    );
    // Without "…" members, an extra member is a difference; without a "…" tail, an extra element.
    let closed: J = serde_json::from_str(r#"{"a":1,"c":[1]}"#).unwrap();
    assert!(difference(&closed, &real, "$").is_some_and(|d| d.starts_with("$.c:")));
    let closed_list: J = serde_json::from_str(r#"{"a":1,"b":"…","c":[1],"d":4}"#).unwrap();
    assert!(difference(&closed_list, &real, "$").is_some_and(|d| d.starts_with("$.c:")));
    // Rewriting keeps the elisions and takes everything else from the answer.
    assert_eq!(
        compact(&shape(&doc, &real)),
        r#"{"a":1,"b":"…","c":[1,"…"],"…":"…"}"#
    );
    assert_eq!(csv_difference("h\nr1\n…", "h\nr1\nr2"), None);
    assert!(csv_difference("h\nr1", "h\nr1\nr2").is_some());
    assert_eq!(shape_csv("h\nx\n…", "h\nr1\nr2"), "h\nr1\n…");
}
