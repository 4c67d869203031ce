//! Browser tests: the public website in headless Chromium, driven through WebDriver
//! (chromedriver, started here on a free loopback port), on the demo data.
//!
//! WebDriver client: `fantoccini`. It is actively maintained, async on tokio (the runtime the
//! app and the other tests already use), speaks W3C WebDriver, and lets a test send a driver's
//! own endpoints through `Client::issue_cmd` (used here for chromedriver's browser log). Built
//! without TLS, since the driver is on loopback, it adds little to the build. `thirtyfour`, the
//! other maintained choice, brings a larger API and dependency tree that these tests do not need.
//!
//! What is checked, in one browser session (so there is one Chromium at a time):
//! - every page of [`PAGES`], in each of [`LANGUAGES`], answers its status, logs no console
//!   error (a failed request or a CSP violation is one) and loads no resource that failed, and is
//!   saved full-page 390 and 1280 px wide as `target/screenshots/<page>-<width>.png`;
//! - the large grade badge on an institution page is painted in its grade's colour;
//! - the header's search form finds an institution by a piece of its Chinese name;
//! - the language switch goes from Chinese to English and back.
//!
//! All checks run and are reported before the test fails. Without Chromium or chromedriver the
//! test says SKIPPED and passes; with `ENVCREDIT_REQUIRE_BROWSER=1` it fails instead.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use envcredit::config::Config;
use envcredit::domain::score::Grade;
use fantoccini::wd::WebDriverCompatibleCommand;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};

use crate::helpers::{code, date, spawn_app, TestApp, TestDb};

/// A page of the site.
struct Page {
    /// Screenshots are `<name>-<width>.png` (with the language's prefix, see [`Language`]).
    name: &'static str,
    /// May hold `{code}` (an institution with a valid grade), `{q}` (a piece of its name,
    /// percent-encoded), `{year}` (the year of that grade) and `{unknown}` (a valid code that
    /// no institution has).
    path: &'static str,
    /// The HTTP status the page answers with.
    status: u16,
}

const fn page(name: &'static str, path: &'static str, status: u16) -> Page {
    Page { name, path, status }
}

/// Every page, visited in every language. Add a page here and it is checked and photographed.
const PAGES: &[Page] = &[
    page("home", "/", 200),
    page("search", "/search?q={q}", 200),
    page("institution", "/institutions/{code}", 200),
    page("years", "/years", 200),
    page("year", "/years/{year}", 200),
    page("dishonesty-list", "/dishonesty-list", 200),
    page("violations", "/violations", 200),
    page("statistics", "/statistics", 200),
    page("rules", "/rules", 200),
    page("not-found", "/institutions/{unknown}", 404),
    page("bad-request", "/institutions/123", 400),
];

/// A language of the site.
struct Language {
    /// Put before a page's path (`/en/institutions/…`).
    prefix: &'static str,
    /// Put before a page's screenshot name (`en-home-390.png`).
    shot: &'static str,
    /// The page's `<html lang>`.
    html_lang: &'static str,
}

const LANGUAGES: &[Language] = &[
    Language {
        prefix: "",
        shot: "",
        html_lang: "zh-CN",
    },
    Language {
        prefix: "/en",
        shot: "en-",
        html_lang: "en",
    },
];

/// Screenshot widths (px): a phone and a laptop.
const WIDTHS: [u32; 2] = [390, 1280];
/// Full-page screenshots are cut at this height (px).
const MAX_SHOT_HEIGHT: u32 = 4000;
/// Window height between screenshots (px).
const HEIGHT: u32 = 800;
/// How long a navigation or the driver's start may take.
const WAIT: Duration = Duration::from_secs(20);

#[actix_web::test]
async fn public_website_in_headless_chromium() {
    let Some((chromium, chromedriver)) = browser_or_skip() else {
        return;
    };
    let db = TestDb::sqlite();
    let mut config = Config::defaults(true);
    config.listen = "127.0.0.1:0".into();
    config.database_url = db.url.clone();
    // The day CI uses: the 2024 grades are valid and 2025's are in publicity.
    let app = spawn_app(config, date(2025, 10, 1)).await;
    let data = Data::load(&app).await;

    let scratch = tempfile::tempdir().expect("temp dir");
    let driver = Driver::start(&chromedriver, &scratch.path().join("chromedriver.log"))
        .await
        .unwrap_or_else(|e| panic!("chromedriver did not start: {e}"));
    let client = connect(&driver, &chromium, &scratch.path().join("profile"))
        .await
        .unwrap_or_else(|e| panic!("no browser session: {e}"));

    let mut report = Report::default();
    let shots = screenshot_dir();
    std::fs::create_dir_all(&shots).expect("screenshot dir");
    for language in LANGUAGES {
        for page in PAGES {
            check_page(&client, &app, &data, language, page, &shots, &mut report).await;
        }
    }
    for (grade, code) in &data.by_grade {
        let result = badge_colour(&client, &app, *grade, code).await;
        report.check(
            &format!("grade {grade} badge colour on /institutions/{code}"),
            result,
        );
    }
    let result = search_form(&client, &app, &data).await;
    report.check(
        &format!("search form finds {} by \"{}\"", data.name, data.partial),
        result,
    );
    for start in ["/", format!("/institutions/{}", data.code).as_str()] {
        let result = language_switch(&client, &app, start).await;
        report.check(&format!("language switch from {start}"), result);
    }

    if let Err(e) = client.close().await {
        eprintln!("closing the browser session: {e}");
    }
    drop(driver);
    report.finish(&shots);
}

/// Chromium and chromedriver, or `None` after saying loudly that the test is skipped; panics
/// instead when `ENVCREDIT_REQUIRE_BROWSER=1`.
fn browser_or_skip() -> Option<(PathBuf, PathBuf)> {
    let chromium = find_program(&["chromium", "chromium-browser"]);
    let chromedriver = find_program(&["chromedriver"]);
    if let (Some(chromium), Some(chromedriver)) = (&chromium, &chromedriver) {
        return Some((chromium.clone(), chromedriver.clone()));
    }
    let missing: Vec<&str> = [
        ("chromium", chromium.is_none()),
        ("chromedriver", chromedriver.is_none()),
    ]
    .iter()
    .filter(|(_, missing)| *missing)
    .map(|(name, _)| *name)
    .collect();
    let missing = missing.join(", ");
    if std::env::var("ENVCREDIT_REQUIRE_BROWSER").as_deref() == Ok("1") {
        panic!("ENVCREDIT_REQUIRE_BROWSER=1 but not on PATH: {missing}");
    }
    eprintln!(
        "SKIPPED: browser tests: not on PATH: {missing} (Debian: apt-get install chromium \
         chromium-driver fonts-noto-cjk; set ENVCREDIT_REQUIRE_BROWSER=1 to make this a failure)"
    );
    None
}

fn find_program(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|dir| names.iter().map(move |name| dir.join(name)))
        .find(|candidate| candidate.is_file())
}

/// `<CARGO_TARGET_DIR or the crate's target>/screenshots`.
fn screenshot_dir() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .filter(|dir| !dir.is_empty())
        .map(|dir| manifest.join(dir))
        .unwrap_or_else(|| manifest.join("target"));
    target.join("screenshots")
}

/// What the pages are checked with, found through the JSON API.
struct Data {
    /// An institution with a valid grade today.
    code: String,
    name: String,
    /// A piece of its name that the search finds on one page of results.
    partial: String,
    /// The year its valid grade is from.
    year: i32,
    /// A valid code that no institution has.
    unknown: String,
    /// For each grade some institution holds today, one such institution's code.
    by_grade: Vec<(Grade, String)>,
}

impl Data {
    async fn load(app: &TestApp) -> Data {
        let (status, body) = app.get_json("/api/v1/institutions?limit=100").await;
        assert_eq!(status, 200, "institutions: {body}");
        let items = body["items"].as_array().expect("items");
        let graded: Vec<(&str, &str, Grade, i64)> = items
            .iter()
            .filter_map(|item| {
                let standing = item.get("standing").filter(|s| !s.is_null())?;
                Some((
                    item["code"].as_str()?,
                    item["name"].as_str()?,
                    standing["grade"]["letter"].as_str()?.parse().ok()?,
                    standing["year"].as_i64()?,
                ))
            })
            .collect();
        let &(code, name, _, year) = graded
            .first()
            .expect("the demo data has an institution with a valid grade on 2025-10-01");
        let by_grade = Grade::ALL
            .iter()
            .filter_map(|grade| {
                graded
                    .iter()
                    .find(|(_, _, g, _)| g == grade)
                    .map(|(code, ..)| (*grade, code.to_string()))
            })
            .collect();

        // The name without its place (first two characters) and "有限公司": e.g. 绿源环境检测.
        let chars: Vec<char> = name.chars().collect();
        let partial: String = if chars.len() >= 8 {
            chars[2..chars.len() - 4].iter().collect()
        } else {
            chars[1..chars.len() - 1].iter().collect()
        };
        let (status, found) = app
            .get_json(&format!(
                "/api/v1/institutions?limit=100&q={}",
                encode(&partial)
            ))
            .await;
        assert_eq!(status, 200, "search for {partial}: {found}");
        let total = found["total"].as_u64().expect("total");
        assert!(
            (1..=50).contains(&total),
            "\"{partial}\" should find {name} on the first page of results, found {total}"
        );

        let unknown = code_nobody_has(app).await;
        Data {
            code: code.to_string(),
            name: name.to_string(),
            partial,
            year: i32::try_from(year).expect("year"),
            unknown,
            by_grade,
        }
    }

    fn fill(&self, path: &str) -> String {
        path.replace("{code}", &self.code)
            .replace("{q}", &encode(&self.partial))
            .replace("{year}", &self.year.to_string())
            .replace("{unknown}", &self.unknown)
    }
}

async fn code_nobody_has(app: &TestApp) -> String {
    let unknown = code(4_242_424);
    let (status, _) = app
        .get_json(&format!("/api/v1/institutions/{unknown}"))
        .await;
    assert_eq!(status, 404, "{unknown} should be unknown in the demo data");
    unknown
}

fn encode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

/// chromedriver on a free loopback port; killed when dropped.
struct Driver {
    child: Child,
    url: String,
    log: PathBuf,
}

impl Driver {
    async fn start(program: &Path, log: &Path) -> Result<Driver, String> {
        // chromedriver cannot take port 0: take a free port and hand it over.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .map_err(|e| format!("no free port: {e}"))?
            .port();
        let child = Command::new(program)
            .arg(format!("--port={port}"))
            .arg(format!("--log-path={}", log.display()))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("{}: {e}", program.display()))?;
        let mut driver = Driver {
            child,
            url: format!("http://127.0.0.1:{port}"),
            log: log.to_path_buf(),
        };
        let http = reqwest::Client::new();
        let deadline = Instant::now() + WAIT;
        loop {
            if let Ok(response) = http.get(format!("{}/status", driver.url)).send().await {
                if let Ok(status) = response.json::<Value>().await {
                    if status["value"]["ready"] == true {
                        return Ok(driver);
                    }
                }
            }
            if let Ok(Some(exit)) = driver.child.try_wait() {
                return Err(format!("exited ({exit}){}", driver.log_tail()));
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "no answer on {}/status{}",
                    driver.url,
                    driver.log_tail()
                ));
            }
            actix_web::rt::time::sleep(Duration::from_millis(100)).await;
        }
    }

    fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        format!(
            "\nchromedriver log (last lines):\n{}",
            lines[lines.len().saturating_sub(30)..].join("\n")
        )
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A headless Chromium session that keeps the browser's console log, in a Chinese-speaking
/// visitor's language (the site negotiates the language of unprefixed pages).
async fn connect(driver: &Driver, chromium: &Path, profile: &Path) -> Result<Client, String> {
    let capabilities = json!({
        "browserName": "chrome",
        "pageLoadStrategy": "normal",
        "goog:loggingPrefs": { "browser": "ALL" },
        "goog:chromeOptions": {
            "binary": chromium.display().to_string(),
            "args": [
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                "--hide-scrollbars",
                "--lang=zh-CN",
                format!("--user-data-dir={}", profile.display()),
                format!("--window-size={},{HEIGHT}", WIDTHS[1]),
            ],
            "prefs": { "intl.accept_languages": "zh-CN,zh" },
        },
    });
    let Value::Object(capabilities) = capabilities else {
        return Err("capabilities are an object".into());
    };
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(capabilities)
        .connect(&driver.url)
        .await
        .map_err(|e| format!("{e}{}", driver.log_tail()))
}

/// chromedriver's (legacy) browser log: the console entries since the last call.
#[derive(Debug)]
struct BrowserLog;

impl WebDriverCompatibleCommand for BrowserLog {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!(
            "session/{}/se/log",
            session_id.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        (
            http::Method::POST,
            Some(r#"{"type":"browser"}"#.to_string()),
        )
    }
}

struct LogEntry {
    level: String,
    message: String,
}

async fn browser_log(client: &Client) -> Result<Vec<LogEntry>, String> {
    let entries = client
        .issue_cmd(BrowserLog)
        .await
        .map_err(|e| format!("reading the browser log: {e}"))?;
    Ok(entries
        .as_array()
        .into_iter()
        .flatten()
        .map(|entry| LogEntry {
            level: entry["level"].as_str().unwrap_or_default().to_string(),
            message: entry["message"].as_str().unwrap_or_default().to_string(),
        })
        .collect())
}

/// Every check's outcome; the test fails at the end, listing all failed checks.
#[derive(Default)]
struct Report {
    failures: Vec<String>,
    screenshots: Vec<String>,
}

impl Report {
    fn check(&mut self, what: &str, result: Result<(), String>) {
        match result {
            Ok(()) => eprintln!("ok: {what}"),
            Err(e) => {
                eprintln!("FAILED: {what}: {e}");
                self.failures.push(format!("{what}: {e}"));
            }
        }
    }

    fn fail(&mut self, what: &str, problems: Vec<String>) {
        if problems.is_empty() {
            self.check(what, Ok(()));
        } else {
            self.check(what, Err(problems.join("; ")));
        }
    }

    fn finish(self, shots: &Path) {
        eprintln!(
            "screenshots in {}: {}",
            shots.display(),
            self.screenshots.join(", ")
        );
        assert!(
            self.failures.is_empty(),
            "{} browser check(s) failed:\n- {}",
            self.failures.len(),
            self.failures.join("\n- ")
        );
    }
}

fn wd(what: &'static str) -> impl Fn(fantoccini::error::CmdError) -> String {
    move |e| format!("{what}: {e}")
}

async fn script(client: &Client, js: &str) -> Result<Value, String> {
    client
        .execute(js, Vec::new())
        .await
        .map_err(|e| format!("script `{js}`: {e}"))
}

/// Goes to the URL and waits until the document has loaded.
async fn visit(client: &Client, url: &str) -> Result<(), String> {
    client.goto(url).await.map_err(wd("navigating"))?;
    wait_for(client, "the document to load", |_| true).await
}

/// Waits until the current URL's path (and query) satisfies `ready` and the document has
/// loaded.
async fn wait_for(client: &Client, what: &str, ready: impl Fn(&str) -> bool) -> Result<(), String> {
    let deadline = Instant::now() + WAIT;
    let mut last = String::new();
    loop {
        if let Ok(url) = client.current_url().await {
            last = path_of(&url);
            let loaded = script(client, "return document.readyState").await;
            if ready(&last) && loaded.is_ok_and(|state| state == "complete") {
                return Ok(());
            }
        }
        if Instant::now() > deadline {
            return Err(format!("timed out waiting for {what} (at {last})"));
        }
        actix_web::rt::time::sleep(Duration::from_millis(100)).await;
    }
}

fn path_of(url: &url::Url) -> String {
    match url.query() {
        Some(query) => format!("{}?{query}", url.path()),
        None => url.path().to_string(),
    }
}

async fn html_lang(client: &Client) -> Result<String, String> {
    Ok(script(client, "return document.documentElement.lang")
        .await?
        .as_str()
        .unwrap_or_default()
        .to_string())
}

/// One page in one language: status, the site's frame and language, console, resources and
/// screenshots.
async fn check_page(
    client: &Client,
    app: &TestApp,
    data: &Data,
    language: &Language,
    page: &Page,
    shots: &Path,
    report: &mut Report,
) {
    let path = data.fill(&format!("{}{}", language.prefix, page.path));
    let label = format!("page {}{} ({path})", language.shot, page.name);

    // Whatever the previous page logged late is its own, not this one's.
    match browser_log(client).await {
        Ok(entries) => {
            let severe = severe(&entries, None);
            if !severe.is_empty() {
                report.check(
                    &format!("no console errors before {label}"),
                    Err(severe.join(" | ")),
                );
            }
        }
        Err(e) => report.check(&label, Err(e)),
    }
    if let Err(e) = visit(client, &format!("{}{path}", app.address)).await {
        report.check(&label, Err(e));
        return;
    }
    let status = script(
        client,
        "const n = performance.getEntriesByType('navigation')[0]; \
         return n ? n.responseStatus : null",
    )
    .await
    .ok()
    .and_then(|s| s.as_u64())
    .and_then(|s| u16::try_from(s).ok());
    let has_frame = client
        .find(Locator::Css("header.site form.search"))
        .await
        .is_ok();
    let mut problems = Vec::new();
    {
        if status != Some(page.status) {
            problems.push(format!("status {status:?}, expected {}", page.status));
        }
        if !has_frame {
            problems.push("no site header with the search form (header.site form.search)".into());
        }
        match html_lang(client).await {
            Ok(lang) if lang == language.html_lang => {}
            Ok(lang) => problems.push(format!(
                "<html lang=\"{lang}\">, expected \"{}\"",
                language.html_lang
            )),
            Err(e) => problems.push(e),
        }
    }
    match failed_resources(client).await {
        Ok(failed) => problems.extend(failed),
        Err(e) => problems.push(e),
    }
    // Responsive down to the narrowest phone: at 360 px nothing makes the page scroll
    // sideways (wide tables scroll inside their own box).
    match overflow_at(client, NARROWEST).await {
        Ok(0) => {}
        Ok(px) => problems.push(format!("{px} px wider than a {NARROWEST} px screen")),
        Err(e) => problems.push(e),
    }
    for width in WIDTHS {
        let name = format!("{}{}-{width}.png", language.shot, page.name);
        match screenshot(client, width, &shots.join(&name)).await {
            Ok(()) => report.screenshots.push(name),
            Err(e) => problems.push(format!("screenshot {name}: {e}")),
        }
    }
    // Read after the screenshots, so that anything logged late is this page's.
    let document = client.current_url().await.ok().map(|u| u.to_string());
    let own_status = status.filter(|s| *s >= 400);
    match browser_log(client).await {
        Ok(entries) => {
            let severe = severe(&entries, document.as_deref().zip(own_status));
            if !severe.is_empty() {
                problems.push(format!("console errors: {}", severe.join(" | ")));
            }
        }
        Err(e) => problems.push(e),
    }
    report.fail(&label, problems);
}

/// The SEVERE entries of a browser log, except the one saying that the document itself
/// answered the error status it is expected to (`document`: its URL and status).
fn severe(entries: &[LogEntry], document: Option<(&str, u16)>) -> Vec<String> {
    entries
        .iter()
        .filter(|entry| entry.level == "SEVERE")
        .filter(|entry| {
            document.is_none_or(|(url, status)| {
                !(entry.message.starts_with(url)
                    && entry.message.contains(&format!("status of {status}")))
            })
        })
        .map(|entry| entry.message.clone())
        .collect()
}

/// Resources the page loaded with a status of 400 or more (where the browser reports it).
async fn failed_resources(client: &Client) -> Result<Vec<String>, String> {
    let entries = script(
        client,
        "return performance.getEntriesByType('resource')\
           .map(e => [e.name, e.responseStatus === undefined ? null : e.responseStatus])",
    )
    .await?;
    Ok(entries
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|entry| {
            let status = entry[1].as_u64()?;
            (status >= 400).then(|| format!("{} answered {status}", entry[0]))
        })
        .collect())
}

/// The narrowest screen the site is made for (px).
const NARROWEST: u32 = 360;

/// How much wider than the viewport the page is at this width (0 when it fits).
async fn overflow_at(client: &Client, width: u32) -> Result<u64, String> {
    set_viewport(client, width, HEIGHT).await?;
    let overflow = script(
        client,
        "return Math.max(0, document.documentElement.scrollWidth - window.innerWidth)",
    )
    .await?
    .as_u64()
    .unwrap_or(0);
    set_viewport(client, WIDTHS[1], HEIGHT).await?;
    Ok(overflow)
}

/// Sets the viewport (not the window) to this size.
async fn set_viewport(client: &Client, width: u32, height: u32) -> Result<(), String> {
    client
        .set_window_size(width, height)
        .await
        .map_err(wd("resizing the window"))?;
    let (inner_width, inner_height) = viewport(client).await?;
    if (inner_width, inner_height) != (width, height) {
        // Make up for whatever the window has around the page.
        let outer = |want: u32, got: u32| (2 * i64::from(want) - i64::from(got)).max(1);
        let (w, h) = (outer(width, inner_width), outer(height, inner_height));
        client
            .set_window_size(
                u32::try_from(w).unwrap_or(width),
                u32::try_from(h).unwrap_or(height),
            )
            .await
            .map_err(wd("resizing the window"))?;
        let (inner_width, _) = viewport(client).await?;
        if inner_width != width {
            return Err(format!("viewport is {inner_width} px wide, not {width}"));
        }
    }
    Ok(())
}

async fn viewport(client: &Client) -> Result<(u32, u32), String> {
    let size = script(client, "return [window.innerWidth, window.innerHeight]").await?;
    let px = |v: &Value| v.as_u64().and_then(|v| u32::try_from(v).ok()).unwrap_or(0);
    Ok((px(&size[0]), px(&size[1])))
}

/// A full-page screenshot this wide (cut at [`MAX_SHOT_HEIGHT`]).
async fn screenshot(client: &Client, width: u32, file: &Path) -> Result<(), String> {
    set_viewport(client, width, HEIGHT).await?;
    let height = script(
        client,
        "return Math.max(document.documentElement.scrollHeight, \
         document.body ? document.body.scrollHeight : 0)",
    )
    .await?
    .as_u64()
    .and_then(|h| u32::try_from(h).ok())
    .unwrap_or(HEIGHT)
    .clamp(HEIGHT, MAX_SHOT_HEIGHT);
    set_viewport(client, width, height).await?;
    let png = client.screenshot().await.map_err(wd("screenshot"))?;
    std::fs::write(file, png).map_err(|e| format!("{}: {e}", file.display()))?;
    set_viewport(client, WIDTHS[1], HEIGHT).await
}

/// "#1b7f3b" → "rgb(27, 127, 59)", as `getComputedStyle` reports colours.
fn rgb(hex: &str) -> String {
    let channel = |i: usize| {
        hex.get(i..i + 2)
            .and_then(|c| u8::from_str_radix(c, 16).ok())
            .unwrap_or_default()
    };
    format!("rgb({}, {}, {})", channel(1), channel(3), channel(5))
}

/// The large badge on the institution's page is painted in its grade's colour.
async fn badge_colour(
    client: &Client,
    app: &TestApp,
    grade: Grade,
    code: &str,
) -> Result<(), String> {
    visit(client, &format!("{}/institutions/{code}", app.address)).await?;
    let background = script(
        client,
        "const b = document.querySelector('.badge.large'); \
         return b ? getComputedStyle(b).backgroundColor : null",
    )
    .await?;
    let expected = rgb(grade.colour().hex());
    match background.as_str() {
        Some(colour) if colour == expected => Ok(()),
        Some(colour) => Err(format!(
            "background {colour}, expected {expected} ({})",
            grade.colour().hex()
        )),
        None => Err("no .badge.large on the page".into()),
    }
}

/// Types a piece of a Chinese name into the header's search box, submits, finds the
/// institution among the results and follows its link.
async fn search_form(client: &Client, app: &TestApp, data: &Data) -> Result<(), String> {
    visit(client, &format!("{}/", app.address)).await?;
    let input = client
        .find(Locator::Css("form.search input#site-search"))
        .await
        .map_err(wd("the search box form.search input#site-search"))?;
    input.clear().await.map_err(wd("clearing the search box"))?;
    input
        .send_keys(&data.partial)
        .await
        .map_err(wd("typing into the search box"))?;
    client
        .find(Locator::Css("form.search [type=submit]"))
        .await
        .map_err(wd("the search form's submit button"))?
        .click()
        .await
        .map_err(wd("submitting the search form"))?;
    wait_for(client, "the results page", |path| {
        path.split('?')
            .next()
            .is_some_and(|p| p.ends_with("/search"))
    })
    .await?;
    let url = client.current_url().await.map_err(wd("current URL"))?;
    let q: Option<String> = url
        .query_pairs()
        .find(|(k, _)| k == "q")
        .map(|(_, v)| v.into_owned());
    if q.as_deref() != Some(data.partial.as_str()) {
        return Err(format!("results page {url} has q={q:?}"));
    }
    let link = client
        .find(Locator::Css(&format!(
            "main a[href$=\"/institutions/{}\"]",
            data.code
        )))
        .await
        .map_err(|e| format!("no link to /institutions/{} on {url}: {e}", data.code))?;
    link.click().await.map_err(wd("following the link"))?;
    let target = format!("/institutions/{}", data.code);
    wait_for(client, "the institution page", |path| {
        path.ends_with(&target)
    })
    .await?;
    let heading = client
        .find(Locator::Css("h1"))
        .await
        .map_err(wd("the institution page's h1"))?
        .text()
        .await
        .map_err(wd("the h1's text"))?;
    if !heading.contains(&data.name) {
        return Err(format!(
            "the institution page's h1 is {heading:?}, not {}",
            data.name
        ));
    }
    Ok(())
}

/// From a page in Chinese (the default), the visible switch leads to the same page in English
/// under `/en`, and from there back to Chinese under `/zh`.
async fn language_switch(client: &Client, app: &TestApp, start: &str) -> Result<(), String> {
    visit(client, &format!("{}{start}", app.address)).await?;
    let lang = html_lang(client).await?;
    if lang != "zh-CN" {
        return Err(format!(
            "{start} is <html lang=\"{lang}\">, expected \"zh-CN\""
        ));
    }
    let rest = start.trim_end_matches('/');
    for (prefix, lang) in [("/en", "en"), ("/zh", "zh-CN")] {
        let switch = client
            .find(Locator::Css("a#lang-switch"))
            .await
            .map_err(|e| format!("no a#lang-switch on the page before {prefix}: {e}"))?;
        if !switch.is_displayed().await.map_err(wd("a#lang-switch"))? {
            return Err(format!("a#lang-switch is not visible before {prefix}"));
        }
        switch.click().await.map_err(wd("clicking a#lang-switch"))?;
        let expected = format!("{prefix}{rest}");
        wait_for(client, &format!("the page under {prefix}"), |path| {
            path.trim_end_matches('/') == expected
        })
        .await?;
        let got = html_lang(client).await?;
        if got != lang {
            return Err(format!(
                "{expected} is <html lang=\"{got}\">, expected \"{lang}\""
            ));
        }
    }
    Ok(())
}
