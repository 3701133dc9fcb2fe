//! Chain time, not wall time: on a chain whose clock runs 30 days ahead of the wall clock (as a
//! devnet that was warped, or a chain with a skewed clock), every `createJob` deadline is computed
//! from the latest block's timestamp, so no job is refused `InvalidDeadline` and detached.

mod common;

use alloy::providers::ext::AnvilApi;
use alloy::providers::{Provider, ProviderBuilder};
use common::{Sandbox, runtime};

const THIRTY_DAYS: u64 = 30 * 24 * 3600;

#[test]
fn deadlines_follow_a_chain_clock_far_ahead_of_the_wall_clock() {
    let net = Sandbox::new(|_| {});
    net.ok(&["devnet", "up"]);
    runtime().block_on(async {
        let p = ProviderBuilder::new().connect_http(net.rpc().parse().unwrap());
        p.anvil_increase_time(THIRTY_DAYS).await.unwrap();
        p.anvil_mine(Some(1), None).await.unwrap();
        let latest = p
            .get_block_by_number(Default::default())
            .await
            .unwrap()
            .unwrap();
        let wall = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        assert!(latest.header.timestamp >= wall + THIRTY_DAYS - 60);
    });
    let out = net.omega(&["run", "--cycles", "40"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(!stderr.contains("detached"), "a job was detached: {stderr}");
    let created = net
        .journal()
        .iter()
        .filter(|e| e["kind"] == "created")
        .count();
    assert!(created >= 3, "jobs created on chain: {created}\n{stderr}");
}

#[test]
fn reference_profile_deadlines_follow_a_chain_clock_far_ahead_of_the_wall_clock() {
    let net = Sandbox::new(|_| {}).reference();
    net.ok(&["devnet", "up"]);
    runtime().block_on(async {
        let p = ProviderBuilder::new().connect_http(net.rpc().parse().unwrap());
        p.anvil_increase_time(THIRTY_DAYS).await.unwrap();
        p.anvil_mine(Some(1), None).await.unwrap();
    });
    let out = net.omega(&["run", "--cycles", "40"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(!stderr.contains("detached"), "a job was detached: {stderr}");
    net.ok(&["reconcile"]);
}
