//! Demo data: about 150 fictional institutions, generated deterministically and signed with the
//! demo key. `envcredit demo` writes the bundles; the same bytes ship in `demo/bundles/` and are
//! compiled in, so `cargo run --release` serves them from an empty store.

use chrono::{DateTime, FixedOffset, NaiveDate};

use crate::bundle::envelope::SigningKey;
use crate::bundle::merkle::Hash;
use crate::bundle::records::{
    Art11Finding, BasicScore, Change, ChangeKind, EvaluationRecord, Listing, ListingState,
    Objection, ObjectionStatus, Records, Violation,
};
use crate::bundle::sign::{sign_draft, Draft};
use crate::bundle::{Dataset, EvaluationSchedule, Limits, TrustedKey};
use crate::clock::Clock;
use crate::config::demo_signing_key;
use crate::domain::art11::Art11Ground;
use crate::domain::code::check_character;
use crate::domain::county::County;
use crate::domain::score::{Grade, RiskLevel, Score};
use crate::import::{import_bundle, Outcome};
use crate::store::Store;
use crate::{Error, Result};

/// The shipped demo bundles, in sequence order (file name, bytes).
pub const SHIPPED: &[(&str, &[u8])] = &[
    (
        "0001-evaluation-2023.bundle.json",
        include_bytes!("../demo/bundles/0001-evaluation-2023.bundle.json"),
    ),
    (
        "0002-evaluation-2024.bundle.json",
        include_bytes!("../demo/bundles/0002-evaluation-2024.bundle.json"),
    ),
    (
        "0003-evaluation-2024.bundle.json",
        include_bytes!("../demo/bundles/0003-evaluation-2024.bundle.json"),
    ),
    (
        "0004-evaluation-2025.bundle.json",
        include_bytes!("../demo/bundles/0004-evaluation-2025.bundle.json"),
    ),
    (
        "0005-violations.bundle.json",
        include_bytes!("../demo/bundles/0005-violations.bundle.json"),
    ),
    (
        "0006-dishonesty-list.bundle.json",
        include_bytes!("../demo/bundles/0006-dishonesty-list.bundle.json"),
    ),
];

/// Imports the shipped demo bundles into an empty store; does nothing to a store with data.
pub fn import_if_empty(
    store: &Store,
    keys: &[TrustedKey],
    limits: &Limits,
    clock: &dyn Clock,
) -> Result<()> {
    if store.head()?.is_some() {
        return Ok(());
    }
    for (name, bytes) in SHIPPED {
        match import_bundle(store, bytes, keys, limits, clock) {
            Ok(Outcome::Imported {
                sequence, records, ..
            }) => {
                tracing::info!(bundle = name, sequence, records, "demo bundle imported")
            }
            Ok(Outcome::AlreadyAccepted { .. }) => {}
            Err(e) => return Err(Error::Internal(format!("demo bundle {name}: {e}"))),
        }
    }
    Ok(())
}

/// Small deterministic generator (SplitMix64): the demo must be byte-for-byte reproducible.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `lo..=hi`.
    fn range(&mut self, lo: i64, hi: i64) -> i64 {
        let span = u64::try_from(hi - lo + 1).unwrap_or(1).max(1);
        lo + i64::try_from(self.next() % span).unwrap_or(0)
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        let len = items.len().max(1) as u64;
        &items[usize::try_from(self.next() % len).unwrap_or(0)]
    }
}

const INSTITUTIONS: usize = 150;
const BRANDS: &[&str] = &[
    "绿源", "清源", "华测", "中环", "蓝天", "碧水", "科达", "正信", "恒信", "天诚", "禾城", "瑞达",
    "精诚", "安诚", "宏达", "青禾", "绿洲", "澄江", "秀水", "鸿鹄", "凯越", "永清", "明德", "致远",
    "信达", "求实", "泰和", "锦程", "星河", "新禾",
];
const SUFFIXES: &[&str] = &[
    "环境检测有限公司",
    "检测技术有限公司",
    "环境科技有限公司",
    "检验检测有限公司",
    "环保科技有限公司",
];
const CODE_CHARS: &[u8] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";

struct Institution {
    code: String,
    name: String,
    former_name: Option<String>,
    county: County,
    cma: String,
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap_or_default()
}

/// 09:00 in Shanghai on that day.
fn at(y: i32, m: u32, d: u32) -> DateTime<FixedOffset> {
    format!("{y:04}-{m:02}-{d:02}T09:00:00+08:00")
        .parse()
        .unwrap_or_default()
}

fn institutions(rng: &mut Rng) -> Vec<Institution> {
    population(rng, INSTITUTIONS, false)
}

/// `count` institutions with distinct codes, in code order. `numbered` puts the index into each
/// name (a large synthetic population would otherwise repeat the demo's few hundred names).
fn population(rng: &mut Rng, count: usize, numbered: bool) -> Vec<Institution> {
    let mut out: Vec<Institution> = Vec::with_capacity(count);
    let mut codes = std::collections::HashSet::with_capacity(count);
    let counties = County::ALL;
    for i in 0..count {
        let county = counties[i % counties.len()];
        // Most register where they operate; some registered at city level.
        let division = if i % 10 == 9 { "330400" } else { county.code() };
        let code = loop {
            let mut first17 = format!("91{division}MA");
            for _ in 0..7 {
                first17.push(char::from(*rng.pick(CODE_CHARS)));
            }
            if let Ok(check) = check_character(&first17) {
                let code = format!("{first17}{check}");
                if codes.insert(code.clone()) {
                    break code;
                }
            }
        };
        let place = county.name_zh().trim_end_matches(['区', '县', '市']);
        let brand = BRANDS[i % BRANDS.len()];
        let suffix = SUFFIXES[(i / BRANDS.len()) % SUFFIXES.len()];
        let name = if numbered {
            format!("{place}{brand}{i}{suffix}")
        } else {
            format!("{place}{brand}{suffix}")
        };
        out.push(Institution {
            former_name: (i % 25 == 4).then(|| format!("嘉兴市{brand}环境监测有限公司")),
            code,
            name,
            county,
            cma: format!(
                "{}",
                231_112_050_000u64 + rng.range(0, 999) as u64 + i as u64 * 1000
            ),
        });
    }
    out.sort_by(|a, b| a.code.cmp(&b.code));
    out
}

/// Scores for a target grade: six categories summing to a total inside the grade's band.
fn scores(rng: &mut Rng, total: i64) -> (BasicScore, i64) {
    let local = rng.range(-300, 200);
    let bonus = rng.range(0, 400);
    let rest = total - local - bonus;
    let monitoring = rest * 30 / 90 + rng.range(-150, 150);
    let registration = rest * 15 / 90 + rng.range(-80, 80);
    let management = rest * 25 / 90 + rng.range(-120, 120);
    let integrity = rest - monitoring - registration - management;
    let basic = BasicScore {
        total,
        monitoring_capability: monitoring,
        information_registration: registration,
        business_management: management,
        integrity_record: integrity,
        bonus,
        local,
    };
    let risk = (total + rng.range(-900, 700)).clamp(3000, 10000);
    (basic, risk)
}

fn target_total(rng: &mut Rng) -> i64 {
    let band = rng.range(0, 99);
    match band {
        0..=19 => rng.range(9000, 9800),
        20..=54 => rng.range(8000, 8999),
        55..=79 => rng.range(7000, 7999),
        80..=91 => rng.range(6000, 6999),
        _ => rng.range(4500, 5999),
    }
}

fn result(inst: &Institution, rng: &mut Rng, total: i64) -> EvaluationRecord {
    let (basic, risk_score) = scores(rng, total);
    EvaluationRecord {
        code: inst.code.clone(),
        name: inst.name.clone(),
        former_names: inst.former_name.iter().cloned().collect(),
        county: inst.county,
        cma_certificate: inst.cma.clone(),
        basic: Some(basic),
        grade: Grade::from_basic_score(Score::from_hundredths(total)),
        risk_score: Some(risk_score),
        risk: RiskLevel::from_risk_score(Score::from_hundredths(risk_score)),
        art11: Vec::new(),
        objection: None,
        change: None,
    }
}

fn art11(
    record: &mut EvaluationRecord,
    ground: Art11Ground,
    description: &str,
    on: NaiveDate,
    keep_scores: bool,
) {
    record.art11 = vec![Art11Finding {
        ground,
        description: description.to_string(),
        determined_on: on,
    }];
    record.grade = Grade::E;
    record.risk = RiskLevel::High;
    if !keep_scores {
        record.basic = None;
        record.risk_score = None;
    }
}

fn schedule(
    publicity: NaiveDate,
    deadline: NaiveDate,
    publication: Option<NaiveDate>,
) -> EvaluationSchedule {
    EvaluationSchedule {
        publicity_date: publicity,
        objection_deadline: deadline,
        publication_date: publication,
    }
}

/// Every demo bundle, in sequence order: (file name, bundle bytes).
pub fn generate() -> Result<Vec<(String, Vec<u8>)>> {
    let key: SigningKey = demo_signing_key();
    let mut rng = Rng(0x00E7_C2ED_1700_2023);
    let all = institutions(&mut rng);

    // 2023: all but the last ten (they join in 2024); indexes 20 and 30 are on the dishonesty
    // list.
    let y2023: Vec<EvaluationRecord> = all
        .iter()
        .enumerate()
        .filter(|(i, _)| *i < INSTITUTIONS - 10)
        .map(|(i, inst)| {
            let total = target_total(&mut rng);
            let mut r = result(inst, &mut rng, total);
            if i == 20 {
                art11(
                    &mut r,
                    Art11Ground::SeriousDishonestyList,
                    "被列入严重失信名单（嘉环信〔2023〕1号）",
                    date(2023, 3, 15),
                    true,
                );
            }
            if i == 30 {
                // On the list from 2023-02-24 until its repair on 2024-08-30: in force on
                // 2023's publicity date (Art. 11(5)), no longer on 2024's.
                art11(
                    &mut r,
                    Art11Ground::SeriousDishonestyList,
                    "被列入严重失信名单（嘉环信〔2023〕2号）",
                    date(2023, 2, 24),
                    true,
                );
            }
            r
        })
        .collect();

    // 2024: index 7 no longer takes part (absent); index 3 refused (Art. 11 ground 1);
    // index 11 penalised for falsification (ground 4); index 5 sits just below A; index 47,
    // penalised in 2023, medium risk.
    let y2024: Vec<EvaluationRecord> = all
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != 7)
        .map(|(i, inst)| {
            let total = if i == 5 { 8850 } else { target_total(&mut rng) };
            let mut r = result(inst, &mut rng, total);
            if i == 20 {
                // Still on the serious-dishonesty list (in force since 2023-03-15).
                art11(
                    &mut r,
                    Art11Ground::SeriousDishonestyList,
                    "被列入严重失信名单（嘉环信〔2023〕1号）",
                    date(2023, 3, 15),
                    true,
                );
            }
            if i == 3 {
                art11(
                    &mut r,
                    Art11Ground::RefusedToParticipate,
                    "无故不参与2024年度环境信用评价",
                    date(2024, 8, 30),
                    false,
                );
            }
            if i == 11 {
                art11(
                    &mut r,
                    Art11Ground::FalsificationPenalty,
                    "嘉环罚字〔2024〕17号：出具虚假监测报告",
                    date(2024, 6, 18),
                    true,
                );
            }
            if i == 47 {
                // Penalised in 2023-11 for reports beyond its qualification (not falsification):
                // the risk assessment counts it, so no bid bonus in 2024.
                r.risk_score = Some(7450);
                r.risk = RiskLevel::Medium;
            }
            r
        })
        .collect();

    // The 2024 correction (index 5, after review) and a later determination (index 12).
    let mut y2024_corrected = y2024.clone();
    if let Some(r) = y2024_corrected.iter_mut().find(|r| r.code == all[5].code) {
        if let Some(basic) = r.basic.as_mut() {
            basic.monitoring_capability += 300;
            basic.total += 300;
            r.grade = Grade::from_basic_score(Score::from_hundredths(basic.total));
        }
        r.risk_score = Some(9100);
        r.risk = RiskLevel::Low;
        r.change = Some(Change {
            kind: ChangeKind::Correction,
            decision_date: date(2024, 11, 20),
            effective_from: date(2024, 10, 25),
            reason: "复核发现监测能力项漏计一项资质认定参数，更正评分".to_string(),
            reference: "嘉环信复〔2024〕2号".to_string(),
        });
    }
    if let Some(r) = y2024_corrected.iter_mut().find(|r| r.code == all[12].code) {
        art11(
            r,
            Art11Ground::FalsificationPenalty,
            "嘉环罚字〔2025〕3号：篡改原始监测记录",
            date(2025, 3, 12),
            true,
        );
        r.change = Some(Change {
            kind: ChangeKind::Determination,
            decision_date: date(2025, 3, 12),
            effective_from: date(2025, 3, 12),
            reason: "经核实受到弄虚作假行政处罚，直接列入E级和高风险（第十一条第4项）".to_string(),
            reference: "嘉环罚字〔2025〕3号".to_string(),
        });
    }

    // 2025: in publicity, with two objection marks.
    let y2025: Vec<EvaluationRecord> = all
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != 7)
        .map(|(i, inst)| {
            let total = target_total(&mut rng);
            let mut r = result(inst, &mut rng, total);
            if i == 20 {
                // Still on the serious-dishonesty list (in force since 2023-03-15).
                art11(
                    &mut r,
                    Art11Ground::SeriousDishonestyList,
                    "被列入严重失信名单（嘉环信〔2023〕1号）",
                    date(2023, 3, 15),
                    true,
                );
            }
            if i == 8 {
                r.objection = Some(Objection {
                    status: ObjectionStatus::UnderReview,
                    filed_on: date(2025, 9, 29),
                    decided_on: None,
                    outcome: None,
                });
            }
            if i == 9 {
                r.objection = Some(Objection {
                    status: ObjectionStatus::Decided,
                    filed_on: date(2025, 9, 30),
                    decided_on: date(2025, 10, 9).into(),
                    outcome: Some("复核维持原评价结果".to_string()),
                });
            }
            r
        })
        .collect();

    let violations: Vec<Violation> = [
        (11usize, 2024, 17, "出具虚假监测报告", 6, 18),
        (12, 2025, 3, "篡改原始监测记录", 3, 12),
        (33, 2023, 41, "未按规定保存原始监测记录", 9, 5),
        (47, 2023, 52, "超出资质认定范围出具监测报告", 11, 20),
    ]
    .iter()
    .map(|&(i, year, n, what, m, d)| Violation {
        code: all[i].code.clone(),
        name: all[i].name.clone(),
        decision_number: format!("嘉环罚字〔{year}〕{n}号"),
        authority: "嘉兴市生态环境局".to_string(),
        description: what.to_string(),
        decided_on: date(year, m, d),
        change: None,
    })
    .collect();

    let listings = vec![
        Listing {
            code: all[20].code.clone(),
            name: all[20].name.clone(),
            decision_number: "嘉环信〔2023〕1号".to_string(),
            reason: "出具虚假监测数据，情节严重".to_string(),
            state: ListingState::InForce,
            listed_on: date(2023, 3, 1),
            in_force_from: Some(date(2023, 3, 15)),
            ended_on: None,
            change: None,
        },
        Listing {
            code: all[30].code.clone(),
            name: all[30].name.clone(),
            decision_number: "嘉环信〔2023〕2号".to_string(),
            reason: "拒不履行行政处罚决定".to_string(),
            state: ListingState::Repaired,
            listed_on: date(2023, 2, 10),
            in_force_from: Some(date(2023, 2, 24)),
            ended_on: Some(date(2024, 8, 30)),
            change: None,
        },
        Listing {
            code: all[40].code.clone(),
            name: all[40].name.clone(),
            decision_number: "嘉环信〔2025〕4号".to_string(),
            reason: "伪造监测数据".to_string(),
            state: ListingState::Publicity,
            listed_on: date(2025, 10, 20),
            in_force_from: None,
            ended_on: None,
            change: None,
        },
    ];

    let drafts: Vec<DraftParts> = vec![
        (
            Dataset::Evaluation(2023),
            at(2023, 5, 19),
            Some(schedule(
                date(2023, 4, 28),
                date(2023, 5, 9),
                Some(date(2023, 5, 19)),
            )),
            Records::Evaluation(y2023),
        ),
        (
            Dataset::Evaluation(2024),
            at(2024, 10, 25),
            Some(schedule(
                date(2024, 9, 27),
                date(2024, 10, 10),
                Some(date(2024, 10, 25)),
            )),
            Records::Evaluation(y2024),
        ),
        (
            Dataset::Evaluation(2024),
            at(2025, 3, 13),
            Some(schedule(
                date(2024, 9, 27),
                date(2024, 10, 10),
                Some(date(2024, 10, 25)),
            )),
            Records::Evaluation(y2024_corrected),
        ),
        (
            Dataset::Evaluation(2025),
            at(2025, 10, 15),
            Some(schedule(date(2025, 9, 26), date(2025, 10, 10), None)),
            Records::Evaluation(y2025),
        ),
        (
            Dataset::Violations,
            at(2025, 10, 20),
            None,
            Records::Violations(violations),
        ),
        (
            Dataset::DishonestyList,
            at(2025, 10, 21),
            None,
            Records::DishonestyList(listings),
        ),
    ];

    sign_all(&key, drafts)
}

/// (month, day)
type MonthDay = (u32, u32);

/// The evaluation years of the synthetic data set: publicity day and publication day (the
/// objection deadline comes from the calendar), all four years the calendar knows.
const SYNTHETIC_YEARS: &[(i32, MonthDay, MonthDay)] = &[
    (2023, (4, 28), (5, 19)),
    (2024, (9, 27), (10, 25)),
    (2025, (9, 26), (10, 24)),
    (2026, (9, 18), (10, 16)),
];

/// A large synthetic data set for load tests and benchmarks: `count` fictional institutions
/// graded in each year 2023–2026 (one in 97 directly E for falsification), then a
/// serious-dishonesty list naming one in 100 of them. Deterministic for a given count; signed
/// with `key`. Returns (file name, bundle bytes) in sequence order.
pub fn generate_synthetic(key: &SigningKey, count: usize) -> Result<Vec<(String, Vec<u8>)>> {
    let mut rng = Rng(0x5EED_0000_0000_0000 ^ count as u64);
    let all = population(&mut rng, count, true);
    let calendar = crate::domain::calendar::Calendar::official();
    let mut drafts = Vec::new();
    for &(year, (pm, pd), (m, d)) in SYNTHETIC_YEARS {
        let publicity = date(year, pm, pd);
        let deadline = calendar
            .objection_deadline(publicity)
            .map_err(|e| Error::Internal(format!("synthetic year {year}: {e}")))?;
        let records: Vec<EvaluationRecord> = all
            .iter()
            .enumerate()
            .map(|(i, inst)| {
                let total = target_total(&mut rng);
                let mut r = result(inst, &mut rng, total);
                if (i + year as usize) % 97 == 0 {
                    art11(
                        &mut r,
                        Art11Ground::FalsificationPenalty,
                        &format!("嘉环罚字〔{year}〕{i}号：出具虚假监测报告"),
                        date(year, 3, 1),
                        true,
                    );
                }
                if year == 2026 && i % 100 == 50 {
                    // On the list (below) from 2026-03-16, before 2026's publicity: Art. 11(5).
                    art11(
                        &mut r,
                        Art11Ground::SeriousDishonestyList,
                        &format!("被列入严重失信名单（嘉环信〔2026〕{}号）", i / 100 + 1),
                        date(2026, 3, 16),
                        true,
                    );
                }
                r
            })
            .collect();
        drafts.push((
            Dataset::Evaluation(year),
            at(year, m, d),
            Some(schedule(publicity, deadline, Some(date(year, m, d)))),
            Records::Evaluation(records),
        ));
    }
    let listings: Vec<Listing> = all
        .iter()
        .enumerate()
        .filter(|(i, _)| i % 100 == 50)
        .map(|(i, inst)| Listing {
            code: inst.code.clone(),
            name: inst.name.clone(),
            decision_number: format!("嘉环信〔2026〕{}号", i / 100 + 1),
            reason: "出具虚假监测数据，情节严重".to_string(),
            state: ListingState::InForce,
            listed_on: date(2026, 3, 2),
            in_force_from: Some(date(2026, 3, 16)),
            ended_on: None,
            change: None,
        })
        .collect();
    drafts.push((
        Dataset::DishonestyList,
        at(2026, 10, 20),
        None,
        Records::DishonestyList(listings),
    ));
    sign_all(key, drafts)
}

type DraftParts = (
    Dataset,
    DateTime<FixedOffset>,
    Option<EvaluationSchedule>,
    Records,
);

/// Signs drafts as a chain from sequence 1: (file name, bundle bytes).
fn sign_all(key: &SigningKey, drafts: Vec<DraftParts>) -> Result<Vec<(String, Vec<u8>)>> {
    let mut previous: Hash = [0u8; 32];
    let mut out = Vec::with_capacity(drafts.len());
    for (i, (dataset, created_at, evaluation, records)) in drafts.into_iter().enumerate() {
        let sequence = i as u64 + 1;
        let draft = Draft {
            dataset,
            sequence,
            previous_hash: previous,
            created_at,
            evaluation,
            count_drop_acknowledged: false,
            records,
        };
        let (bytes, hash) = sign_draft(key, &draft)
            .map_err(|e| Error::Internal(format!("bundle {sequence}: {e}")))?;
        previous = hash;
        out.push((format!("{sequence:04}-{dataset}.bundle.json"), bytes));
    }
    Ok(out)
}
