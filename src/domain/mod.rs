//! The rules of the measures (嘉环发〔2023〕8号), pure and without I/O.
//!
//! The Jiaxing Ecology and Environment Bureau's measures for the environmental credit evaluation
//! of social environmental monitoring institutions (《嘉兴市社会环境监测机构环境信用评价实施办法》,
//! in force from 2023-03-01). Article numbers (Art. N) are the measures' own.
//!
//! - [`code`]: unified social credit codes, check character included.
//! - [`score`]: scores in hundredths, grades A–E with colours (Art. 10), risk levels.
//! - [`art11`]: grounds for direct grade E and high risk (Art. 11).
//! - [`calendar`]: working days and the objection deadline (Art. 16).
//! - [`validity`]: year status and which year is valid on a date (Art. 18).
//! - [`consequences`]: bid flags, inspection tiers, joint punishment (Art. 19, 20).
//! - [`county`]: Jiaxing's county-level divisions.
//! - [`time`]: calendar dates in Asia/Shanghai.
//! - [`text`]: untrusted text shown to people, escaped and bounded.
//!
//! This module imports nothing else from the crate; everything here is deterministic, and time
//! enters only as an argument.

pub mod art11;
pub mod calendar;
pub mod code;
pub mod consequences;
pub mod county;
pub mod score;
pub mod text;
pub mod time;
pub mod validity;

pub use art11::{Art11Ground, ART11_GRADE, ART11_RISK};
pub use calendar::{Calendar, CalendarError};
pub use code::{CodeError, CreditCode};
pub use consequences::{
    bid_flag, inspection_tier, joint_punishment_result, BidFlag, InspectionTier,
};
pub use county::County;
pub use score::{Colour, Grade, RiskLevel, Score};
pub use time::shanghai_date;
pub use validity::{check_year_dates, valid_year, Validity, ValidityError, YearDates, YearStatus};
