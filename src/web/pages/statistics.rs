//! The statistics page: how each year's results spread over the grades, the counties and the
//! risk levels, as charts drawn here as SVG and as tables with the numbers.
//!
//! The charts are stacked 100 % bars: one per year, and one per county for a chosen year (the
//! latest by default, `?year=N` for another). Their geometry is computed here, in whole
//! `viewBox` units, so that the segments of a bar add up to the bar exactly; the template
//! only writes it out (escaped like everything else). Colour is never the only signal: every
//! grade also has its own fill pattern, every segment wide enough carries its letter (in the
//! grade's text colour, on a patch of its colour), every segment has a `<title>`, and the
//! tables beside the charts hold every number.

use std::collections::{BTreeMap, HashMap};

use actix_web::{web, HttpRequest, HttpResponse};
use serde::Serialize;
use tera::Context;

use super::Page;
use crate::domain::county::County;
use crate::domain::score::{Grade, RiskLevel};
use crate::read::stats::{statistics as count, YearCounts};
use crate::web::api::institutions::{
    county_info, grade_info, risk_info, CountyInfo, GradeInfo, RiskInfo,
};
use crate::web::AppState;
use crate::{Error, Result};

/// Width of a chart's `viewBox`: a 360 px phone's content width in CSS pixels, so that the
/// text is read at its size there; the stylesheet bounds how far it grows on a wide screen.
pub const VIEW_W: u32 = 330;
/// Where the bars start and how wide they are (room for the outline on both sides).
pub const BAR_X: u32 = 2;
pub const BAR_W: u32 = VIEW_W - 2 * BAR_X;
/// A row: the bar's name on a line of its own, then the bar.
pub const ROW_H: u32 = 60;
const LABEL_BASELINE: u32 = 15;
const BAR_TOP: u32 = 21;
pub const BAR_H: u32 = 28;
/// The scale under the bars.
const AXIS_H: u32 = 28;
/// Estimated advance of one character of a segment's label (13 units, bold), and the
/// padding of the patch the label is drawn on.
const CHAR_W: u32 = 8;
const LABEL_PAD: u32 = 8;
/// Height of that patch.
pub const LABEL_H: u32 = 18;

/// The fill pattern of a grade, on top of its colour, so that the charts read without colour.
pub fn pattern(grade: Grade) -> &'static str {
    match grade {
        Grade::A => "plain",
        Grade::B => "diagonal",
        Grade::C => "dots",
        Grade::D => "crosshatch",
        Grade::E => "horizontal",
    }
}

/// Side of a pattern's tile.
pub const TILE: u32 = 8;

/// What a pattern draws on its 8 × 8 tile, over the grade's colour, in the grade's text
/// colour (which contrasts with it): a path, stroked (lines) or filled (dots).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Mark {
    pub d: &'static str,
    pub filled: bool,
    pub width: &'static str,
    pub opacity: &'static str,
}

/// The mark of a grade's pattern (see [`pattern`]); `None` for the plain one.
pub fn mark(grade: Grade) -> Option<Mark> {
    let lines = |d, width| Mark {
        d,
        filled: false,
        width,
        opacity: "0.65",
    };
    match grade {
        Grade::A => None,
        Grade::B => Some(lines("M-2,2 L2,-2 M0,8 L8,0 M6,10 L10,6", "1.5")),
        Grade::C => Some(Mark {
            d: "M0.7,2 A1.3,1.3 0 1,0 3.3,2 A1.3,1.3 0 1,0 0.7,2 Z \
                M4.7,6 A1.3,1.3 0 1,0 7.3,6 A1.3,1.3 0 1,0 4.7,6 Z",
            filled: true,
            width: "0",
            opacity: "0.6",
        }),
        Grade::D => Some(lines("M0,0 L8,8 M8,0 L0,8", "1.2")),
        Grade::E => Some(lines("M0,2 H8 M0,6 H8", "1.5")),
    }
}

/// A grade as the page shows it: letter, words, colours and pattern.
#[derive(Debug, Clone, Serialize)]
pub struct GradeView {
    pub g: GradeInfo,
    pub pattern: &'static str,
    pub mark: Option<Mark>,
    pub tile: u32,
}

fn grade_view(grade: Grade) -> GradeView {
    GradeView {
        g: grade_info(grade),
        pattern: pattern(grade),
        mark: mark(grade),
        tile: TILE,
    }
}

/// Splits `width` among `counts` in proportion (largest remainder: the widths add up to
/// `width` exactly when anything is counted; ties go to the earlier count). A count above zero
/// gets at least one unit, taken from the widest, so that no counted grade disappears.
pub fn split(counts: &[usize], width: u32) -> Vec<u32> {
    let total: u64 = counts.iter().map(|c| *c as u64).sum();
    if total == 0 {
        return vec![0; counts.len()];
    }
    let w = u64::from(width);
    let mut widths: Vec<u64> = counts.iter().map(|c| *c as u64 * w / total).collect();
    let left = w - widths.iter().sum::<u64>();
    let mut order: Vec<usize> = (0..counts.len()).collect();
    // Largest remainder first; `sort_by_key` is stable, so ties keep the earlier count first.
    order.sort_by_key(|i| std::cmp::Reverse(counts[*i] as u64 * w % total));
    for i in order.into_iter().take(left as usize) {
        widths[i] += 1;
    }
    for i in 0..counts.len() {
        if counts[i] > 0 && widths[i] == 0 {
            let widest = (0..widths.len())
                .filter(|j| widths[*j] > 1)
                .max_by_key(|j| (widths[*j], std::cmp::Reverse(*j)));
            if let Some(j) = widest {
                widths[j] -= 1;
                widths[i] = 1;
            }
        }
    }
    widths
        .into_iter()
        .map(|x| u32::try_from(x).unwrap_or(u32::MAX))
        .collect()
}

/// The estimated width of a label's patch.
pub fn label_width(text: &str) -> u32 {
    u32::try_from(text.chars().count())
        .unwrap_or(u32::MAX / CHAR_W)
        .saturating_mul(CHAR_W)
        .saturating_add(LABEL_PAD)
}

/// What a segment `width` wide can carry: its letter and count, else its letter, else nothing
/// (its `<title>` and the table still tell).
pub fn label(letter: &str, count: usize, width: u32) -> Option<String> {
    [format!("{letter} {count}"), letter.to_string()]
        .into_iter()
        .find(|text| label_width(text) + 2 <= width)
}

/// `part` of `total` in per cent, one decimal.
pub fn share(part: usize, total: usize) -> String {
    if total == 0 {
        return "0.0".into();
    }
    // Rounded half up, in tenths of a per cent, without floating point.
    let tenths = (part as u128 * 2000 + total as u128) / (total as u128 * 2);
    format!("{}.{}", tenths / 10, tenths % 10)
}

/// One grade's part of a bar.
#[derive(Debug, Clone, Serialize)]
pub struct Segment {
    pub grade: GradeView,
    pub count: usize,
    /// Per cent of the bar's total, one decimal.
    pub share: String,
    pub x: u32,
    pub width: u32,
    /// Drawn on the segment when it is wide enough.
    pub label: Option<Label>,
}

/// A segment's label: the text, on a patch of the grade's colour.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Label {
    pub text: String,
    /// The patch.
    pub x: u32,
    pub width: u32,
    /// The text's centre.
    pub centre: u32,
}

/// The segments of a bar from `x` over `width`: one per grade counted, best grade first.
pub fn segments(counts: &BTreeMap<Grade, usize>, x: u32, width: u32) -> Vec<Segment> {
    let n: Vec<usize> = Grade::ALL
        .iter()
        .map(|g| counts.get(g).copied().unwrap_or(0))
        .collect();
    let total: usize = n.iter().sum();
    let widths = split(&n, width);
    let mut at = x;
    let mut out = Vec::new();
    for ((grade, count), w) in Grade::ALL.iter().zip(n).zip(widths) {
        if count == 0 {
            continue;
        }
        let view = grade_view(*grade);
        let label = label(&view.g.letter.to_string(), count, w).map(|text| {
            let lw = label_width(&text);
            Label {
                text,
                x: at + (w - lw) / 2,
                width: lw,
                centre: at + w / 2,
            }
        });
        out.push(Segment {
            grade: view,
            count,
            share: share(count, total),
            x: at,
            width: w,
            label,
        });
        at += w;
    }
    out
}

/// A bar to draw: what it is called and what it counts.
#[derive(Debug, Clone)]
pub struct RowInput {
    /// The year, or the county's division code: what the row's links filter on.
    pub key: String,
    pub name_zh: String,
    pub name_en: String,
    /// A year's status ("in_publicity" or "final"); `None` for a county.
    pub status: Option<String>,
    pub counts: BTreeMap<Grade, usize>,
}

/// A bar of a chart, placed.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub key: String,
    pub name_zh: String,
    pub name_en: String,
    pub status: Option<String>,
    pub total: usize,
    /// The baseline of the row's name.
    pub label_y: u32,
    /// The top of the bar.
    pub y: u32,
    /// The top of the patches the segments' labels are drawn on.
    pub patch_y: u32,
    /// The baseline of the text in the bar.
    pub text_y: u32,
    pub segments: Vec<Segment>,
}

/// A mark of the scale under the bars.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Tick {
    pub x: u32,
    pub percent: u32,
    /// `text-anchor` of its number: the ends stay inside the chart.
    pub anchor: &'static str,
}

/// A chart of stacked 100 % bars, in `viewBox` units.
#[derive(Debug, Clone, Serialize)]
pub struct Chart {
    /// Prefix of the ids in the chart (patterns, title, description).
    pub id: &'static str,
    pub width: u32,
    pub height: u32,
    pub bar_x: u32,
    pub bar_w: u32,
    pub bar_h: u32,
    /// The middle of the bars (where an empty bar says so).
    pub centre: u32,
    pub label_h: u32,
    /// Where the scale is: the tick marks' top and bottom, and the numbers' baseline.
    pub axis_y: u32,
    pub tick_end: u32,
    pub axis_text_y: u32,
    pub rows: Vec<Row>,
    pub ticks: Vec<Tick>,
    pub grades: Vec<GradeView>,
}

/// Lays out one bar per row, top to bottom, and the scale under them.
pub fn chart(id: &'static str, rows: Vec<RowInput>) -> Chart {
    let placed: Vec<Row> = rows
        .into_iter()
        .zip(0u32..)
        .map(|(r, i)| {
            let top = i * ROW_H;
            Row {
                total: r.counts.values().sum(),
                segments: segments(&r.counts, BAR_X, BAR_W),
                key: r.key,
                name_zh: r.name_zh,
                name_en: r.name_en,
                status: r.status,
                label_y: top + LABEL_BASELINE,
                y: top + BAR_TOP,
                patch_y: top + BAR_TOP + (BAR_H - LABEL_H) / 2,
                text_y: top + BAR_TOP + BAR_H / 2 + 5,
            }
        })
        .collect();
    let axis_y = u32::try_from(placed.len()).unwrap_or(0) * ROW_H;
    let ticks = (0..=4u32)
        .map(|q| Tick {
            x: BAR_X + BAR_W * q / 4,
            percent: q * 25,
            anchor: match q {
                0 => "start",
                4 => "end",
                _ => "middle",
            },
        })
        .collect();
    Chart {
        id,
        width: VIEW_W,
        height: axis_y + AXIS_H,
        bar_x: BAR_X,
        bar_w: BAR_W,
        bar_h: BAR_H,
        centre: BAR_X + BAR_W / 2,
        label_h: LABEL_H,
        axis_y,
        tick_end: axis_y + 5,
        axis_text_y: axis_y + 18,
        rows: placed,
        ticks,
        grades: Grade::ALL.iter().map(|g| grade_view(*g)).collect(),
    }
}

/// The year whose counties are shown: `?year=N`, else the latest; `None` when there is none.
pub fn chosen_year<T>(param: Option<&str>, years: &BTreeMap<i32, T>) -> Result<Option<i32>> {
    match param.filter(|p| !p.is_empty()) {
        None => Ok(years.keys().next_back().copied()),
        Some(p) => {
            let year: i32 = p
                .parse()
                .map_err(|_| Error::BadRequest(format!("year: `{p}` is not a year")))?;
            if years.contains_key(&year) {
                Ok(Some(year))
            } else {
                Err(Error::NotFound(format!("evaluation year {year}")))
            }
        }
    }
}

/// A year's line of the tables.
#[derive(Debug, Serialize)]
struct YearRow {
    year: i32,
    status: String,
    total: usize,
    /// Per grade, best first.
    grades: Vec<Cell>,
    /// Per risk level, lowest first.
    risks: Vec<Cell>,
    art11: usize,
}

/// A count, with what a link to the matching results filters on (`grade=A`, `risk=low`).
#[derive(Debug, Serialize)]
struct Cell {
    count: usize,
    filter: String,
}

fn grade_cells(counts: &BTreeMap<Grade, usize>) -> Vec<Cell> {
    Grade::ALL
        .iter()
        .map(|g| Cell {
            count: counts.get(g).copied().unwrap_or(0),
            filter: format!("grade={g}"),
        })
        .collect()
}

/// A county's line of the county table.
#[derive(Debug, Serialize)]
struct CountyRow {
    county: CountyInfo,
    total: usize,
    grades: Vec<Cell>,
}

/// The chosen year, by county.
#[derive(Debug, Serialize)]
struct Counties {
    year: i32,
    status: String,
    total: usize,
    rows: Vec<CountyRow>,
    /// Per grade over every county.
    totals: Vec<Cell>,
    chart: Chart,
}

fn counties(year: i32, status: String, c: &YearCounts) -> Counties {
    let empty = BTreeMap::new();
    let rows: Vec<CountyRow> = County::ALL
        .iter()
        .map(|county| {
            let grades = c.by_county.get(county).unwrap_or(&empty);
            CountyRow {
                county: county_info(*county),
                total: grades.values().sum(),
                grades: grade_cells(grades),
            }
        })
        .collect();
    let chart = chart(
        "chart-county",
        County::ALL
            .iter()
            .map(|county| RowInput {
                key: county.code().to_string(),
                name_zh: county.name_zh().to_string(),
                name_en: county.name_en().to_string(),
                status: None,
                counts: c.by_county.get(county).cloned().unwrap_or_default(),
            })
            .collect(),
    );
    Counties {
        year,
        status,
        total: rows.iter().map(|r| r.total).sum(),
        totals: grade_cells(&c.by_grade),
        rows,
        chart,
    }
}

pub async fn statistics(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let page = Page::new(&state, &req);
    if let Err(e) = page.registry.require_known() {
        return page.error(&e);
    }
    let registry = &page.registry;
    let Ok(query) = web::Query::<HashMap<String, String>>::from_query(req.query_string()) else {
        return page.error(&Error::BadRequest(
            "the query string is not well-formed".into(),
        ));
    };
    let counts = count(registry);
    let chosen = match chosen_year(query.get("year").map(String::as_str), &counts) {
        Ok(y) => y,
        Err(e) => return page.error(&e),
    };
    let status = |year: &i32| {
        registry
            .years
            .get(year)
            .map(|y| y.status().as_str().to_string())
            .unwrap_or_default()
    };
    // Newest first, in the tables and the chart.
    let years: Vec<YearRow> = counts
        .iter()
        .rev()
        .map(|(year, c)| YearRow {
            year: *year,
            status: status(year),
            total: c.total,
            grades: grade_cells(&c.by_grade),
            risks: RiskLevel::ALL
                .iter()
                .map(|r| Cell {
                    count: c.by_risk.get(r).copied().unwrap_or(0),
                    filter: format!("risk={r}"),
                })
                .collect(),
            art11: c.art11,
        })
        .collect();
    let year_chart = chart(
        "chart-year",
        counts
            .iter()
            .rev()
            .map(|(year, c)| RowInput {
                key: year.to_string(),
                name_zh: year.to_string(),
                name_en: year.to_string(),
                status: Some(status(year)),
                counts: c.by_grade.clone(),
            })
            .collect(),
    );
    let by_county = chosen.and_then(|y| counts.get(&y).map(|c| counties(y, status(&y), c)));
    let risks: Vec<RiskInfo> = RiskLevel::ALL.iter().map(|r| risk_info(*r)).collect();
    let grades: Vec<GradeView> = Grade::ALL.iter().map(|g| grade_view(*g)).collect();
    let mut context = Context::new();
    context.insert("grades", &grades);
    context.insert("risks", &risks);
    context.insert("years", &years);
    context.insert("year_chart", &year_chart);
    context.insert("counties", &by_county);
    context.insert(
        "in_publicity",
        &years.iter().any(|y| y.status == "in_publicity"),
    );
    page.ok("statistics.html", context)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(n: [usize; 5]) -> BTreeMap<Grade, usize> {
        Grade::ALL.iter().copied().zip(n).collect()
    }

    #[test]
    fn split_adds_up_to_the_width() {
        for (n, width) in [
            (vec![1, 1, 1], 356),
            (vec![10, 0, 3, 7, 1], 356),
            (vec![33, 33, 34], 100),
            (vec![1, 2, 3, 4, 5], 7),
            (vec![1_000_000, 1, 1, 1, 1], 356),
            (vec![0, 0, 5, 0, 0], 356),
        ] {
            let w = split(&n, width);
            assert_eq!(w.iter().sum::<u32>(), width, "{n:?}");
            for (c, x) in n.iter().zip(&w) {
                assert_eq!(*c == 0, *x == 0, "{n:?} → {w:?}");
            }
        }
    }

    #[test]
    fn split_is_proportional_and_rounds_by_largest_remainder() {
        assert_eq!(split(&[1, 1], 356), vec![178, 178]);
        assert_eq!(split(&[1, 3], 100), vec![25, 75]);
        // 100/3 = 33.33 each: the one unit left goes to the first.
        assert_eq!(split(&[1, 1, 1], 100), vec![34, 33, 33]);
        // 2/3 and 1/3 of 10: 6.67 and 3.33 → 7 and 3.
        assert_eq!(split(&[2, 1], 10), vec![7, 3]);
        // Each width is within one unit of the exact share.
        let n = [17, 5, 9, 2, 40];
        let w = split(&n, 356);
        let total: usize = n.iter().sum();
        for (c, x) in n.iter().zip(&w) {
            let exact = *c as f64 * 356.0 / total as f64;
            assert!((f64::from(*x) - exact).abs() < 1.0, "{c}: {x} vs {exact}");
        }
    }

    #[test]
    fn split_keeps_every_counted_grade_visible() {
        // 1 in a million rounds to 0; it gets one unit, from the widest.
        assert_eq!(split(&[1_000_000, 1], 356), vec![355, 1]);
        assert_eq!(split(&[0, 0], 356), vec![0, 0]);
        assert_eq!(split(&[], 356), Vec::<u32>::new());
    }

    #[test]
    fn shares_in_tenths_of_a_per_cent() {
        assert_eq!(share(1, 3), "33.3");
        assert_eq!(share(2, 3), "66.7");
        assert_eq!(share(1, 8), "12.5");
        assert_eq!(share(3, 3), "100.0");
        assert_eq!(share(0, 0), "0.0");
    }

    #[test]
    fn labels_fit_their_segment() {
        assert_eq!(label("A", 12, 100).as_deref(), Some("A 12"));
        // "A 12" needs 4 × 8 + 8 + 2 = 42 units.
        assert_eq!(label("A", 12, 42).as_deref(), Some("A 12"));
        assert_eq!(label("A", 12, 41).as_deref(), Some("A"));
        assert_eq!(label("A", 12, 18).as_deref(), Some("A"));
        assert_eq!(label("A", 12, 17), None);
    }

    #[test]
    fn segments_skip_zero_and_tile_the_bar() {
        let s = segments(&counts([3, 0, 1, 0, 2]), BAR_X, BAR_W);
        let letters: Vec<String> = s.iter().map(|s| s.grade.g.letter.to_string()).collect();
        assert_eq!(letters, ["A", "C", "E"]);
        assert_eq!(s[0].x, BAR_X);
        for pair in s.windows(2) {
            assert_eq!(pair[0].x + pair[0].width, pair[1].x);
        }
        let last = s.last().expect("segments");
        assert_eq!(last.x + last.width, BAR_X + BAR_W);
        assert_eq!(s.iter().map(|s| s.width).sum::<u32>(), BAR_W);
        // 326 × 3/6 = 163; × 1/6 = 54.33; × 2/6 = 108.67: the unit left goes to the last.
        assert_eq!((s[0].width, s[1].width, s[2].width), (163, 54, 109));
        assert_eq!(
            s.iter().map(|s| s.share.as_str()).collect::<Vec<_>>(),
            ["50.0", "16.7", "33.3"]
        );
        // Each grade keeps its colour and pattern; labels are centred on their segment.
        assert_eq!(s[1].grade.g.colour_hex, "#f2c200");
        assert_eq!(s[1].grade.g.text_hex, "#000000");
        assert_eq!(s[1].grade.pattern, "dots");
        for seg in &s {
            let l = seg.label.as_ref().expect("wide enough for a label");
            assert!(l.x >= seg.x && l.x + l.width <= seg.x + seg.width);
            assert_eq!(l.centre, seg.x + seg.width / 2);
        }
        assert_eq!(s[0].label.as_ref().map(|l| l.text.as_str()), Some("A 3"));
        assert!(segments(&counts([0; 5]), BAR_X, BAR_W).is_empty());
    }

    #[test]
    fn a_tiny_segment_has_no_label_but_is_there() {
        let s = segments(&counts([500, 0, 0, 0, 1]), BAR_X, BAR_W);
        assert_eq!(s.len(), 2);
        assert_eq!(s[1].width, 1);
        assert!(s[1].label.is_none());
        assert_eq!(s[1].share, "0.2");
    }

    #[test]
    fn every_grade_has_its_own_pattern() {
        let patterns: std::collections::BTreeSet<&str> =
            Grade::ALL.iter().map(|g| pattern(*g)).collect();
        assert_eq!(patterns.len(), Grade::ALL.len());
        let marks: Vec<Option<&str>> = Grade::ALL.iter().map(|g| mark(*g).map(|m| m.d)).collect();
        assert_eq!(marks[0], None, "A is plain");
        for (i, a) in marks.iter().enumerate() {
            for b in &marks[i + 1..] {
                assert_ne!(a, b);
            }
        }
        assert!(mark(Grade::C).is_some_and(|m| m.filled));
    }

    #[test]
    fn chart_stacks_rows_and_puts_the_scale_under_them() {
        let row = |key: &str, n| RowInput {
            key: key.into(),
            name_zh: key.into(),
            name_en: key.into(),
            status: None,
            counts: counts(n),
        };
        let c = chart("c", vec![row("2025", [1, 2, 0, 0, 0]), row("2024", [0; 5])]);
        assert_eq!(c.width, VIEW_W);
        assert_eq!(c.rows.len(), 2);
        assert_eq!(c.rows[0].total, 3);
        assert_eq!(c.rows[1].total, 0);
        assert!(c.rows[1].segments.is_empty());
        assert!(c.rows[0].y + BAR_H < c.rows[1].label_y - 10);
        assert!(c.rows[0].label_y < c.rows[0].y);
        assert_eq!(c.axis_y, 2 * ROW_H);
        assert!(c.axis_text_y < c.height);
        let ticks: Vec<(u32, u32)> = c.ticks.iter().map(|t| (t.x, t.percent)).collect();
        assert_eq!(ticks, [(2, 0), (83, 25), (165, 50), (246, 75), (328, 100)]);
        assert_eq!(c.grades.len(), 5);
    }

    #[test]
    fn the_chosen_year() {
        let years: BTreeMap<i32, ()> = [(2023, ()), (2024, ())].into_iter().collect();
        assert_eq!(chosen_year(None, &years).ok(), Some(Some(2024)));
        assert_eq!(chosen_year(Some(""), &years).ok(), Some(Some(2024)));
        assert_eq!(chosen_year(Some("2023"), &years).ok(), Some(Some(2023)));
        assert!(matches!(
            chosen_year(Some("abc"), &years),
            Err(Error::BadRequest(_))
        ));
        assert!(matches!(
            chosen_year(Some("2019"), &years),
            Err(Error::NotFound(_))
        ));
        let none: BTreeMap<i32, ()> = BTreeMap::new();
        assert_eq!(chosen_year(None, &none).ok(), Some(None));
    }
}
