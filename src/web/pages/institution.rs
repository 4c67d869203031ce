//! An institution's page: the grade valid today as a large badge, its consequences, each
//! year's result (status, scores, Art. 11 findings, objections with the bureau's review
//! deadline, corrections), listings with the day they came into force, violations, and a link
//! to its JSON.

use actix_web::{web, HttpRequest, HttpResponse};
use tera::Context;

use super::Page;
use crate::domain::calendar::REVIEW_WORKING_DAYS;
use crate::web::api::institutions::institution_view;
use crate::web::AppState;

pub async fn institution(
    state: web::Data<AppState>,
    req: HttpRequest,
    code: web::Path<String>,
) -> HttpResponse {
    let page = Page::new(&state, &req);
    match institution_view(&page.registry, &code, page.today, page.today) {
        Ok(view) => {
            let mut context = Context::new();
            context.insert("i", &view);
            context.insert("review_days", &REVIEW_WORKING_DAYS);
            page.ok("institution.html", context)
        }
        Err(e) => page.error(&e),
    }
}
