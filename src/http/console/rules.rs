//! A program's rules in forms: how purchases earn points (a rate, and multipliers by product
//! type), the tiers, the rewards, and when points expire. Owners and marketers of the program;
//! each form saves on its own, says what is wrong in words with everything typed kept, and
//! lands in the audit log. The card follows through the outbox as after any program change.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use serde_json::{json, Value};

use super::designer::{designable, value, Pairs};
use super::html::{render, see_other};
use super::page::SignedIn;
use super::rules_form::{EarnRows, ExpiryRows, RewardRow, TierRows};
use super::ConsoleError;
use crate::domain::ids::RewardId;
use crate::domain::program::Program;
use crate::domain::reward::Reward;
use crate::state::AppState;
use crate::storage::AuditEntry;

/// Which form of the page is shown as sent, with its problems.
#[derive(Default)]
struct Sent {
    earn: Option<EarnRows>,
    tiers: Option<TierRows>,
    expiry: Option<ExpiryRows>,
    reward: Option<RewardRow>,
    /// (form, problems)
    problems: Option<(&'static str, Vec<String>)>,
}

async fn page(
    state: &AppState,
    who: &SignedIn,
    program: &Program,
    sent: Sent,
    notice: Option<&str>,
    status: StatusCode,
) -> Result<HttpResponse, ConsoleError> {
    let rewards = state.store.rewards(&program.id).await?;
    let mut context = who.context("home");
    context["notice"] = json!(notice);
    context["program"] = json!({ "id": program.id.as_str(), "name": program.name });
    context["earn"] = json!(sent
        .earn
        .unwrap_or_else(|| EarnRows::of(&program.earn_rules)));
    context["tiers"] = json!(sent.tiers.unwrap_or_else(|| TierRows::of(&program.tiers)));
    context["expiry"] = json!(sent
        .expiry
        .unwrap_or_else(|| ExpiryRows::of(program.expiry.as_ref())));
    context["new_reward"] = json!(sent.reward.unwrap_or_default());
    context["rewards"] = json!(rewards.iter().map(reward_view).collect::<Vec<_>>());
    context["products"] = json!(program.earn_rules.multipliers.keys().collect::<Vec<_>>());
    let (form, problems) = sent.problems.unwrap_or(("", Vec::new()));
    context["problems"] = json!({ "form": form, "list": problems });
    Ok(render(status, "console/rules.html", &context))
}

fn reward_view(r: &Reward) -> Value {
    json!({
        "id": r.id.as_str(), "name": r.name, "cost": r.cost.value(),
        "repeatable": r.repeatable, "active": r.active,
    })
}

async fn audit(
    state: &AppState,
    who: &SignedIn,
    program: &Program,
    action: &str,
    before: Value,
    after: Value,
) -> Result<(), ConsoleError> {
    let entry = AuditEntry {
        actor: &who.user.actor(),
        action,
        program_id: Some(&program.id),
        subject: Some(&format!("program:{}", program.id)),
        before: Some(before.to_string()),
        after: Some(after.to_string()),
    };
    state.store.audit(&entry, state.clock.now()).await?;
    Ok(())
}

fn back(program: &Program, notice: &str) -> HttpResponse {
    see_other(&format!(
        "/console/programs/{}/rules?notice={notice}",
        program.id
    ))
}

#[derive(serde::Deserialize)]
pub struct RulesQuery {
    notice: Option<String>,
}

/// A program's rules
///
/// Owners and marketers: points per unit spent and multipliers by product type, the tiers
/// (names and the points ever earned that reach them), the rewards (add, rename, reprice,
/// retire), and points expiry with its reminder.
#[utoipa::path(
    get,
    path = "/console/programs/{id}/rules",
    operation_id = "getConsoleRules",
    tag = "console",
    security(("consoleSession" = [])),
    params(
        ("id" = String, Path, description = "The program's id (`prg_…`)."),
        ("notice" = Option<String>, Query, description = "`earn`, `tiers`, `expiry`, `reward_added` or `reward_saved`: says what was saved."),
    ),
    responses(
        (status = 200, description = "The page (HTML).", body = String, content_type = "text/html"),
        (status = 303, description = "Not signed in: to the sign-in page."),
        (status = 403, description = "Staff and viewers cannot change the rules.", body = String, content_type = "text/html"),
        (status = 404, description = "No such program (or not one of the person's).", body = String, content_type = "text/html"),
    )
)]
pub async fn show(
    state: web::Data<AppState>,
    who: SignedIn,
    id: web::Path<String>,
    query: web::Query<RulesQuery>,
) -> Result<HttpResponse, ConsoleError> {
    let program = designable(&state, &who, &id).await?;
    let notice = match query.notice.as_deref() {
        Some("earn") => Some("Saved: how purchases earn points."),
        Some("tiers") => Some("Saved: the tiers. Members moved to the tier their points reach."),
        Some("expiry") => Some("Saved: when points expire."),
        Some("reward_added") => Some("The reward is added. The scanner offers it from now on."),
        Some("reward_saved") => Some("The reward is saved."),
        _ => None,
    };
    page(
        &state,
        &who,
        &program,
        Sent::default(),
        notice,
        StatusCode::OK,
    )
    .await
}

macro_rules! form_doc {
    ($name:ident, $path:literal, $id:literal, $summary:literal, $fields:literal) => {
        #[doc = $summary]
        #[utoipa::path(
            post,
            path = $path,
            operation_id = $id,
            tag = "console",
            security(("consoleSession" = [])),
            params(("id" = String, Path, description = "The program's id (`prg_…`).")),
            request_body(content_type = "application/x-www-form-urlencoded", description = $fields, content = String),
            responses(
                (status = 303, description = "Saved: back to the rules page, saying so; not signed in: to the sign-in page."),
                (status = 400, description = "The form could not be read: a page saying so.", body = String, content_type = "text/html"),
                (status = 403, description = "Staff and viewers cannot change the rules, or the form's token is not this session's.", body = String, content_type = "text/html"),
                (status = 404, description = "No such program (or reward).", body = String, content_type = "text/html"),
                (status = 422, description = "Something cannot work (the page again, saying what, with the form as typed).", body = String, content_type = "text/html"),
            )
        )]
        pub async fn $name(
            state: web::Data<AppState>,
            who: SignedIn,
            id: web::Path<String>,
            form: web::Form<Pairs>,
        ) -> Result<HttpResponse, ConsoleError> {
            who.check_form(value(&form, "csrf"))?;
            let program = designable(&state, &who, &id).await?;
            handlers::$name(&state, &who, program, &form).await
        }
    };
}

form_doc!(
    earn,
    "/console/programs/{id}/rules/earn",
    "postConsoleEarnRules",
    "Save how purchases earn points\n\nPoints per unit spent (a decimal comma works) and a multiplier per product type; product types are named in plain words and stored as slugs (`Hot drinks` becomes `hot-drinks`).",
    "`csrf`, `points_per_unit`, `product.<n>`, `multiplier.<n>`."
);
form_doc!(
    tiers,
    "/console/programs/{id}/rules/tiers",
    "postConsoleTiers",
    "Save the tiers\n\nEach tier's name and the points ever earned that reach it; members move to the tier their points reach, in the same change.",
    "`csrf`, `tier_name.<n>`, `tier_threshold.<n>`."
);
form_doc!(
    expiry,
    "/console/programs/{id}/rules/expiry",
    "postConsoleExpiry",
    "Save when points expire\n\nOff, or after a number of months (1 to 120) with a reminder some days before (0 to 90).",
    "`csrf`, `expires` (present: points expire), `months`, `reminder_days`."
);
form_doc!(
    add_reward,
    "/console/programs/{id}/rewards",
    "postConsoleReward",
    "Add a reward\n\nA name, its cost in points, and whether a member can have it more than once.",
    "`csrf`, `name`, `cost`, `repeatable` (present: more than once)."
);

/// Save a reward
///
/// A reward's name, cost, whether it can be had more than once, and whether it is offered
/// (unticked: retired; members keep what they redeemed).
#[utoipa::path(
    post,
    path = "/console/programs/{id}/rewards/{reward}",
    operation_id = "postConsoleRewardChange",
    tag = "console",
    security(("consoleSession" = [])),
    params(
        ("id" = String, Path, description = "The program's id (`prg_…`)."),
        ("reward" = String, Path, description = "The reward's id (`rwd_…`)."),
    ),
    request_body(content_type = "application/x-www-form-urlencoded", description = "`csrf`, `name`, `cost`, `repeatable`, `active` (present: offered).", content = String),
    responses(
        (status = 303, description = "Saved: back to the rules page; not signed in: to the sign-in page."),
        (status = 400, description = "The form could not be read: a page saying so.", body = String, content_type = "text/html"),
        (status = 403, description = "Staff and viewers cannot change rewards, or the form's token is not this session's.", body = String, content_type = "text/html"),
        (status = 404, description = "No such program or reward.", body = String, content_type = "text/html"),
        (status = 422, description = "No name, or a cost that is not a whole number above 0 (the page again, saying so).", body = String, content_type = "text/html"),
    )
)]
pub async fn change_reward(
    state: web::Data<AppState>,
    who: SignedIn,
    path: web::Path<(String, String)>,
    form: web::Form<Pairs>,
) -> Result<HttpResponse, ConsoleError> {
    who.check_form(value(&form, "csrf"))?;
    let (id, reward) = path.into_inner();
    let program = designable(&state, &who, &id).await?;
    let reward = RewardId::parse(&reward).map_err(|_| ConsoleError::NotFound)?;
    let before = state.store.reward(&program.id, &reward).await?;
    let row = RewardRow::sent(&form);
    let spec = match row.parse() {
        Ok(spec) => spec,
        Err(problems) => {
            let sent = Sent {
                problems: Some(("reward", problems)),
                ..Sent::default()
            };
            return page(
                &state,
                &who,
                &program,
                sent,
                None,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await;
        }
    };
    let now = state.clock.now();
    let after = state
        .store
        .update_reward(&program.id, &reward, &spec, now)
        .await?;
    audit(
        &state,
        &who,
        &program,
        "reward.changed",
        reward_view(&before),
        reward_view(&after),
    )
    .await?;
    Ok(back(&program, "reward_saved"))
}

mod handlers {
    use super::*;

    async fn refused(
        state: &AppState,
        who: &SignedIn,
        program: &Program,
        sent: Sent,
    ) -> Result<HttpResponse, ConsoleError> {
        page(
            state,
            who,
            program,
            sent,
            None,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await
    }

    pub async fn earn(
        state: &AppState,
        who: &SignedIn,
        program: Program,
        form: &Pairs,
    ) -> Result<HttpResponse, ConsoleError> {
        let rows = EarnRows::sent(form);
        let rules = match rows.parse() {
            Ok(rules) => rules,
            Err(problems) => {
                let sent = Sent {
                    earn: Some(rows),
                    problems: Some(("earn", problems)),
                    ..Sent::default()
                };
                return refused(state, who, &program, sent).await;
            }
        };
        let before = json!(program.earn_rules);
        let mut changed = program.clone();
        changed.earn_rules = rules;
        let saved = state
            .store
            .update_program(&changed, state.clock.now())
            .await?;
        audit(
            state,
            who,
            &saved,
            "program.earn_rules_saved",
            before,
            json!(saved.earn_rules),
        )
        .await?;
        Ok(back(&saved, "earn"))
    }

    pub async fn tiers(
        state: &AppState,
        who: &SignedIn,
        program: Program,
        form: &Pairs,
    ) -> Result<HttpResponse, ConsoleError> {
        let rows = TierRows::sent(form);
        let tiers = match rows.parse(&program.tiers) {
            Ok(tiers) => tiers,
            Err(problems) => {
                let sent = Sent {
                    tiers: Some(rows),
                    problems: Some(("tiers", problems)),
                    ..Sent::default()
                };
                return refused(state, who, &program, sent).await;
            }
        };
        let saved = state
            .store
            .set_tiers(&program.id, &tiers, state.clock.now())
            .await?;
        audit(
            state,
            who,
            &saved,
            "program.tiers_saved",
            json!(program.tiers),
            json!(saved.tiers),
        )
        .await?;
        Ok(back(&saved, "tiers"))
    }

    pub async fn expiry(
        state: &AppState,
        who: &SignedIn,
        program: Program,
        form: &Pairs,
    ) -> Result<HttpResponse, ConsoleError> {
        let rows = ExpiryRows::sent(form);
        let policy = match rows.parse() {
            Ok(policy) => policy,
            Err(problems) => {
                let sent = Sent {
                    expiry: Some(rows),
                    problems: Some(("expiry", problems)),
                    ..Sent::default()
                };
                return refused(state, who, &program, sent).await;
            }
        };
        let saved = state
            .store
            .set_expiry(&program.id, policy.as_ref(), state.clock.now())
            .await?;
        audit(
            state,
            who,
            &saved,
            "program.expiry_saved",
            json!(program.expiry),
            json!(saved.expiry),
        )
        .await?;
        Ok(back(&saved, "expiry"))
    }

    pub async fn add_reward(
        state: &AppState,
        who: &SignedIn,
        program: Program,
        form: &Pairs,
    ) -> Result<HttpResponse, ConsoleError> {
        let row = RewardRow::sent(form);
        let spec = match row.parse() {
            Ok(spec) => spec,
            Err(problems) => {
                let sent = Sent {
                    reward: Some(row),
                    problems: Some(("new_reward", problems)),
                    ..Sent::default()
                };
                return refused(state, who, &program, sent).await;
            }
        };
        let now = state.clock.now();
        let reward = Reward::create(&program.id, spec, state.random.as_ref(), now);
        state.store.insert_reward(&reward).await?;
        audit(
            state,
            who,
            &program,
            "reward.added",
            Value::Null,
            reward_view(&reward),
        )
        .await?;
        Ok(back(&program, "reward_added"))
    }
}
