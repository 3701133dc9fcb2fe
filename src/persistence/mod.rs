//! Everything that touches the disk: checkpoints, the job archive, the event log, control files.

pub mod archive;
pub mod atomic;
pub mod checkpoint;
pub mod control;
pub mod event_json;
pub mod eventlog;
pub mod job_json;
pub mod pidfile;
pub mod telemetry;
