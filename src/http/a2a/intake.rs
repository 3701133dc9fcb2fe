//! What a `SendMessage` asks for, checked before anything is queued: a job's title, reward and
//! skills, from the message's data parts (a JSON object) and text parts (the title, when the
//! data gives none). Every refusal here is an invalid-params error with the reason.

use super::wire::Message;
use crate::domain::amount::Amount;
use crate::domain::job::Skills;
use crate::domain::ledger::STEWARD;
use crate::domain::world::WorldState;
use serde_json::{Map, Value};

/// Longest title accepted.
pub const MAX_TITLE: usize = 200;
/// The fields a data part may hold.
const FIELDS: [&str; 3] = ["title", "reward", "skills"];

/// A job request, checked.
#[derive(Debug, PartialEq)]
pub struct JobRequest {
    pub title: String,
    pub reward: Amount,
    pub skills: Option<Skills>,
}

/// Reads and checks the job a message asks for, against the workforce's skills and what the
/// steward can front now (reward plus the burn fee, from its free balance).
pub fn job_request(
    message: &Message,
    workforce: &[String],
    state: &WorldState,
) -> Result<JobRequest, String> {
    let mut data = Map::new();
    let mut text = Vec::new();
    for part in &message.parts {
        match (&part.data, &part.text) {
            (Some(Value::Object(fields)), _) => data.extend(fields.clone()),
            (Some(other), _) => {
                return Err(format!("a data part must be a JSON object, got {other}"));
            }
            (None, Some(t)) => text.push(t.trim().to_string()),
            (None, None) => {
                return Err("only text and data parts are accepted (no files or raw bytes)".into());
            }
        }
    }
    if let Some(unknown) = data.keys().find(|k| !FIELDS.contains(&k.as_str())) {
        return Err(format!(
            "unknown field {unknown:?} in the data part: use {}",
            FIELDS.join(", ")
        ));
    }
    let title = match data.get("title") {
        Some(Value::String(t)) => t.trim().to_string(),
        Some(other) => return Err(format!("title must be a string, got {other}")),
        None => text.join(" ").trim().to_string(),
    };
    if title.is_empty() {
        return Err("the job needs a title: a text part, or \"title\" in a data part".into());
    }
    if title.chars().count() > MAX_TITLE {
        return Err(format!("the title is longer than {MAX_TITLE} characters"));
    }
    let reward = reward(data.get("reward"), state)?;
    let skills = skills(data.get("skills"), workforce)?;
    Ok(JobRequest {
        title,
        reward,
        skills,
    })
}

/// Tokens, as a number or a decimal string; positive, and within what the steward can front.
fn reward(value: Option<&Value>, state: &WorldState) -> Result<Amount, String> {
    let tokens = match value {
        Some(Value::Number(n)) => n.as_f64(),
        Some(Value::String(s)) => s.trim().parse::<f64>().ok(),
        Some(other) => return Err(format!("reward must be a number of tokens, got {other}")),
        None => return Err("the job needs a reward: \"reward\" (tokens) in a data part".into()),
    };
    let tokens = tokens
        .filter(|t| t.is_finite() && *t > 0.0)
        .ok_or("reward must be a positive number of tokens")?;
    let reward = Amount::from_tokens(tokens);
    let escrow = reward.checked_add(reward.mul_ratio(state.params.burn_ratio));
    let free = state.ledger.free(STEWARD);
    if reward.is_zero() || escrow.is_none_or(|e| e > free) {
        return Err(format!(
            "reward {tokens} is more than the steward can front now (free {free} tokens, burn fee {} of the reward on top)",
            state.params.burn_ratio
        ));
    }
    Ok(reward)
}

/// Optional; when given, a non-empty list of skills someone in the workforce has.
fn skills(value: Option<&Value>, workforce: &[String]) -> Result<Option<Skills>, String> {
    let Some(value) = value else {
        return Ok(None);
    };
    let list: Vec<String> = serde_json::from_value(value.clone())
        .map_err(|_| format!("skills must be a list of strings, got {value}"))?;
    if list.is_empty() {
        return Err("skills, when given, must name at least one skill".into());
    }
    if let Some(unknown) = list.iter().find(|s| !workforce.contains(s)) {
        return Err(format!(
            "no agent has the skill {unknown:?}: the workforce's skills are {}",
            workforce.join(", ")
        ));
    }
    Ok(Some(list.into()))
}
