//! The pages mailed links open. A link changes nothing by being fetched
//! (mail security gateways open every link of every message on delivery):
//! `GET /confirm-email?token=…` shows a button that `POST /confirm-email`
//! answers by confirming; `GET /reset-password?token=…` shows a form to
//! choose a new password, which `POST /reset-password` applies;
//! `POST /unsubscribe?token=…` stops notification mail in one click (RFC
//! 8058: mail clients post `List-Unsubscribe=One-Click` there), and
//! `GET /unsubscribe?token=…` shows the button that does it (a GET changes
//! nothing, so link scanners cannot unsubscribe anyone). `HEAD` runs the
//! `GET` page and changes nothing either. Every page is limited per client
//! address like its GraphQL twin ([`WithinLimits`]). Plain HTML, no script,
//! answers in English or French after `Accept-Language`.

use std::collections::HashMap;
use std::net::SocketAddr;

use axum::Router;
use axum::extract::{ConnectInfo, Form, FromRef, FromRequestParts, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;

use crate::error::AppError;
use crate::ratelimit::Action;
use crate::service::{identity::confirmation, identity::password, notify::notification};
use crate::state::AppState;
use crate::text::escape_html;

/// The routes of mailed links.
pub fn routes<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    AppState: axum::extract::FromRef<S>,
{
    Router::new()
        .route("/confirm-email", get(confirm_form).post(confirm_email))
        .route("/reset-password", get(reset_form).post(reset_password))
        .route("/unsubscribe", get(unsubscribe_form).post(unsubscribe))
}

/// A request from an address within its budget of sign-in attempts (the
/// one `login`, `confirmEmail` and `resetPassword` share): checked before
/// the page does anything else; past it, an HTTP 429 page.
struct WithinLimits;

impl<S> FromRequestParts<S> for WithinLimits
where
    AppState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Response> {
        let app = AppState::from_ref(state);
        let lang = language(&parts.headers);
        let Some(ConnectInfo(peer)) = parts.extensions.get::<ConnectInfo<SocketAddr>>().copied()
        else {
            // Never waved through: a request without an address is refused.
            return Err(failure(
                lang,
                &AppError::Forbidden("no client address".into()),
            ));
        };
        let client = super::client_ip(&app.config, &parts.headers, peer);
        app.limits
            .check_address(Action::Auth, client)
            .map_err(|err| failure(lang, &err))?;
        Ok(WithinLimits)
    }
}

/// `fr` when the browser prefers French, else `en`.
fn language(headers: &HeaderMap) -> &'static str {
    let preferred = headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(',').next())
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    if preferred.starts_with("fr") {
        "fr"
    } else {
        "en"
    }
}

fn page(status: StatusCode, lang: &str, title: &str, body: &str) -> Response {
    let html = format!(
        "<!DOCTYPE html>\n<html lang=\"{lang}\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title}</title></head>\
         <body style=\"font-family: sans-serif; max-width: 36em; margin: 3em auto; line-height: 1.5\">\
         <h1>{title}</h1>{body}</body></html>\n"
    );
    (status, [(header::CACHE_CONTROL, "no-store")], Html(html)).into_response()
}

/// Why a link did not work, in the page's language.
fn failure(lang: &str, err: &AppError) -> Response {
    let (status, message) = match (err, lang) {
        (AppError::RateLimited { .. }, "fr") => (
            StatusCode::TOO_MANY_REQUESTS,
            "Trop d'essais depuis votre réseau ; réessayez dans une minute.",
        ),
        (AppError::RateLimited { .. }, _) => (
            StatusCode::TOO_MANY_REQUESTS,
            "Too many attempts from your network; try again in a minute.",
        ),
        (AppError::Conflict(_), "fr") => (
            StatusCode::OK,
            "Cette adresse e-mail est déjà confirmée : il n'y a plus rien à faire.",
        ),
        (AppError::Conflict(_), _) => (
            StatusCode::OK,
            "This e-mail address is already confirmed: there is nothing left to do.",
        ),
        (AppError::Forbidden(_), "fr") => (StatusCode::FORBIDDEN, "Requête refusée."),
        (AppError::Forbidden(_), _) => (StatusCode::FORBIDDEN, "Request refused."),
        (AppError::InvalidInput { .. }, "fr") => (
            StatusCode::BAD_REQUEST,
            "Ce lien n'est pas valable : il a expiré ou a déjà servi.",
        ),
        (AppError::InvalidInput { .. }, _) => (
            StatusCode::BAD_REQUEST,
            "This link is not valid: it has expired or was already used.",
        ),
        (_, "fr") => (
            StatusCode::SERVICE_UNAVAILABLE,
            "Le service est momentanément indisponible ; réessayez plus tard.",
        ),
        _ => (
            StatusCode::SERVICE_UNAVAILABLE,
            "The service is unavailable for a moment; please try again later.",
        ),
    };
    let title = match (err, lang) {
        (AppError::Conflict(_), "fr") => "Adresse déjà confirmée",
        (AppError::Conflict(_), _) => "Address already confirmed",
        (AppError::RateLimited { .. }, "fr") => "Trop d'essais",
        (AppError::RateLimited { .. }, _) => "Too many attempts",
        (_, "fr") => "Lien non valable",
        _ => "Link not valid",
    };
    page(status, lang, title, &format!("<p>{message}</p>"))
}

/// `GET /confirm-email?token=…`: a button that confirms; nothing changes yet.
async fn confirm_form(
    _: WithinLimits,
    headers: HeaderMap,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let lang = language(&headers);
    let token = escape_html(params.get("token").map(String::as_str).unwrap_or_default());
    let (title, text, button) = if lang == "fr" {
        (
            "Confirmer votre adresse",
            "Confirmez que cette adresse e-mail est la vôtre : vos signatures compteront dès lors.",
            "Confirmer mon adresse",
        )
    } else {
        (
            "Confirm your address",
            "Confirm that this e-mail address is yours: your signatures count from then on.",
            "Confirm my address",
        )
    };
    page(
        StatusCode::OK,
        lang,
        title,
        &format!(
            "<p>{text}</p><form method=\"post\" action=\"/confirm-email\">\
             <input type=\"hidden\" name=\"token\" value=\"{token}\">\
             <p><button type=\"submit\">{button}</button></p></form>"
        ),
    )
}

#[derive(serde::Deserialize)]
struct ConfirmForm {
    token: String,
}

/// `POST /confirm-email` (the button's form): confirms, and says so.
async fn confirm_email(
    _: WithinLimits,
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<ConfirmForm>,
) -> Response {
    let lang = language(&headers);
    match confirmation::confirm(&state, &form.token).await {
        Ok(member) => {
            let name = escape_html(&member.display_name);
            let (title, body) = if lang == "fr" {
                (
                    "Adresse confirmée",
                    format!(
                        "<p>Merci {name}, votre adresse e-mail est confirmée. Vos signatures comptent désormais.</p>"
                    ),
                )
            } else {
                (
                    "Address confirmed",
                    format!(
                        "<p>Thank you {name}, your e-mail address is confirmed. Your signatures count from now on.</p>"
                    ),
                )
            };
            page(StatusCode::OK, lang, title, &body)
        }
        Err(err) => failure(lang, &err),
    }
}

async fn reset_form(
    _: WithinLimits,
    headers: HeaderMap,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let lang = language(&headers);
    let token = escape_html(params.get("token").map(String::as_str).unwrap_or_default());
    let (title, label, button) = if lang == "fr" {
        (
            "Nouveau mot de passe",
            "Nouveau mot de passe (8 caractères au moins)",
            "Enregistrer",
        )
    } else {
        (
            "New password",
            "New password (at least 8 characters)",
            "Save",
        )
    };
    page(
        StatusCode::OK,
        lang,
        title,
        &format!(
            "<form method=\"post\" action=\"/reset-password\">\
             <input type=\"hidden\" name=\"token\" value=\"{token}\">\
             <label>{label}<br><input type=\"password\" name=\"new_password\" minlength=\"8\" maxlength=\"128\" required autocomplete=\"new-password\"></label>\
             <p><button type=\"submit\">{button}</button></p></form>"
        ),
    )
}

#[derive(serde::Deserialize)]
struct ResetForm {
    token: String,
    new_password: String,
}

async fn reset_password(
    _: WithinLimits,
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<ResetForm>,
) -> Response {
    let lang = language(&headers);
    match password::reset(&state, &form.token, form.new_password).await {
        Ok(_) => {
            let (title, body) = if lang == "fr" {
                (
                    "Mot de passe changé",
                    "<p>Votre mot de passe est changé. Connectez-vous avec le nouveau.</p>",
                )
            } else {
                (
                    "Password changed",
                    "<p>Your password is changed. Sign in with the new one.</p>",
                )
            };
            page(StatusCode::OK, lang, title, body)
        }
        Err(AppError::InvalidInput { field, message }) if field == "newPassword" => page(
            StatusCode::BAD_REQUEST,
            lang,
            if lang == "fr" {
                "Mot de passe refusé"
            } else {
                "Password refused"
            },
            &format!("<p>{}</p>", escape_html(&message)),
        ),
        Err(err) => failure(lang, &err),
    }
}

async fn unsubscribe_form(
    _: WithinLimits,
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let lang = language(&headers);
    let token = params.get("token").map(String::as_str).unwrap_or_default();
    if notification::member_of_token(&state.sources, token).is_none() {
        return failure(lang, &AppError::invalid("token", "not valid"));
    }
    let token = escape_html(token);
    let (title, text, button) = if lang == "fr" {
        (
            "Ne plus recevoir de nouvelles",
            "Vous ne recevrez plus de nouvelles des campagnes par e-mail. Vous pourrez les réactiver dans vos préférences.",
            "Me désabonner",
        )
    } else {
        (
            "Stop campaign news",
            "You will no longer receive campaign news by e-mail. You can turn it back on in your preferences.",
            "Unsubscribe",
        )
    };
    page(
        StatusCode::OK,
        lang,
        title,
        &format!(
            "<p>{text}</p><form method=\"post\" action=\"/unsubscribe?token={token}\">\
             <input type=\"hidden\" name=\"List-Unsubscribe\" value=\"One-Click\">\
             <p><button type=\"submit\">{button}</button></p></form>"
        ),
    )
}

async fn unsubscribe(
    _: WithinLimits,
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let lang = language(&headers);
    let token = params.get("token").map(String::as_str).unwrap_or_default();
    match notification::unsubscribe(&state, token).await {
        Ok(()) => {
            let (title, body) = if lang == "fr" {
                (
                    "Désabonnement fait",
                    "<p>Vous ne recevrez plus de nouvelles des campagnes par e-mail.</p>",
                )
            } else {
                (
                    "Unsubscribed",
                    "<p>You will no longer receive campaign news by e-mail.</p>",
                )
            };
            page(StatusCode::OK, lang, title, body)
        }
        Err(err) => failure(lang, &err),
    }
}
