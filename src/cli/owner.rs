//! `omega owner …`: the owner console. Each command validates its value first, then rewrites the
//! config atomically (other keys untouched); a running orchestrator picks the change up within
//! one cycle, and the next launch applies it even over an existing checkpoint.

use super::ConfigArgs;
use crate::config::edit::set_value;
use crate::persistence::checkpoint;
use clap::{Args, Subcommand};
use eyre::Result;

#[derive(Subcommand, Debug)]
pub enum OwnerCommand {
    /// Stake ratio agents lock per job (0 ≤ RATIO ≤ 1).
    SetStake(Value),
    /// Planetary energy ceiling in GW (> 0).
    SetEnergy(Value),
    /// Pause (true) or resume (false); needs an existing checkpoint.
    SetPause(Value),
}

#[derive(Args, Debug)]
pub struct Value {
    /// The new value.
    #[arg(allow_hyphen_values = true)]
    pub value: String,
    #[command(flatten)]
    pub files: ConfigArgs,
}

pub fn execute(cmd: OwnerCommand) -> Result<()> {
    match cmd {
        OwnerCommand::SetStake(v) => {
            let ratio = parse_number(&v.value, "stake ratio")?;
            if !(0.0..=1.0).contains(&ratio) {
                eyre::bail!("stake ratio must be between 0 and 1 (got {ratio})");
            }
            set(&v.files, "/validators/stake_ratio", ratio, "stake ratio")
        }
        OwnerCommand::SetEnergy(v) => {
            let gw = parse_number(&v.value, "energy ceiling")?;
            if gw <= 0.0 {
                eyre::bail!("energy ceiling must be > 0 GW (got {gw})");
            }
            set(
                &v.files,
                "/resource_manager/energy_capacity",
                gw,
                "energy ceiling",
            )
        }
        OwnerCommand::SetPause(v) => {
            let pause = match v.value.to_ascii_lowercase().as_str() {
                "true" | "1" | "yes" | "on" => true,
                "false" | "0" | "no" | "off" => false,
                other => eyre::bail!("set-pause takes true or false (got {other:?})"),
            };
            let (_config, paths) = v.files.load()?;
            if !paths.state.exists() {
                eyre::bail!(
                    "no checkpoint at {}: run the orchestrator once first",
                    paths.state.display()
                );
            }
            checkpoint::verify_file(&paths.state)?;
            super::control::request(&paths, pause, "owner")
        }
    }
}

fn parse_number(text: &str, what: &str) -> Result<f64> {
    match text.trim().parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(v),
        _ => eyre::bail!("{what} must be a number (got {text:?})"),
    }
}

fn set(files: &ConfigArgs, pointer: &str, value: f64, what: &str) -> Result<()> {
    let json_value = if value.fract() == 0.0 && value.abs() < 9e15 && !pointer.ends_with("ratio") {
        serde_json::Value::from(value as i64)
    } else {
        serde_json::Value::from(value)
    };
    let old = set_value(&files.config, pointer, json_value)?;
    println!(
        "{what}: {old} → {value} in {}; a running orchestrator applies it within one cycle",
        files.config.display()
    );
    Ok(())
}
