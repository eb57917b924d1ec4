//! The cluster's network: one Linux network namespace per node, joined by a bridge.
//!
//! The bridge lives in a namespace of its own (the "switch"), so traffic between nodes is bridged
//! there and never meets the host's firewall (Docker's `FORWARD DROP` would otherwise drop it).
//! The host joins the bridge through one veth, so the harness's clients reach every node from
//! the host namespace. Partitions are `iptables` DROP rules inside the nodes' namespaces: they
//! cut node-to-node traffic and leave the client path (from the host address) intact.
//!
//! Everything is named `tj<net>-…` and addressed `10.77.<net>.0/24` (node `i` at `.i`, the host at
//! `.254`), so runs with different `net` ids can share a machine. Dropping the [`Network`]
//! deletes the namespaces and the host veth.

use std::collections::BTreeSet;
use std::net::Ipv4Addr;
use std::process::Stdio;

use super::HarnessError;

/// The namespaces and links of one run.
pub struct Network {
    net: u8,
    nodes: u8,
}

impl Network {
    /// Creates the switch, `nodes` node namespaces and the host link for network `net` (1–250),
    /// removing leftovers of an earlier run with the same id first.
    pub async fn create(net: u8, nodes: u8) -> Result<Network, HarnessError> {
        let network = Network { net, nodes };
        network.remove_blocking();
        let switch = network.switch();
        run("ip", &["netns", "add", &switch]).await?;
        in_ns(&switch, "ip", &["link", "set", "lo", "up"]).await?;
        in_ns(&switch, "ip", &["link", "add", "br0", "type", "bridge"]).await?;
        in_ns(&switch, "ip", &["link", "set", "br0", "up"]).await?;
        let host_link = network.host_link();
        run("ip", &["link", "add", &host_link, "type", "veth", "peer", "name", "uplink", "netns", &switch])
            .await?;
        in_ns(&switch, "ip", &["link", "set", "uplink", "master", "br0", "up"]).await?;
        let host_cidr = format!("{}/24", network.host_address());
        run("ip", &["addr", "add", &host_cidr, "dev", &host_link]).await?;
        run("ip", &["link", "set", &host_link, "up"]).await?;
        for node in 1..=nodes {
            let ns = network.namespace(node);
            let port = format!("n{node}");
            run("ip", &["netns", "add", &ns]).await?;
            in_ns(
                &switch,
                "ip",
                &["link", "add", &port, "type", "veth", "peer", "name", "eth0", "netns", &ns],
            )
            .await?;
            in_ns(&switch, "ip", &["link", "set", &port, "master", "br0", "up"]).await?;
            let cidr = format!("{}/24", network.address(node));
            in_ns(&ns, "ip", &["addr", "add", &cidr, "dev", "eth0"]).await?;
            in_ns(&ns, "ip", &["link", "set", "eth0", "up"]).await?;
            in_ns(&ns, "ip", &["link", "set", "lo", "up"]).await?;
        }
        Ok(network)
    }

    /// Node `node`'s namespace name.
    pub fn namespace(&self, node: u8) -> String {
        format!("tj{}-n{node}", self.net)
    }

    /// Node `node`'s address.
    pub fn address(&self, node: u8) -> Ipv4Addr {
        Ipv4Addr::new(10, 77, self.net, node)
    }

    /// The host's address on the bridge (where the harness's clients come from).
    pub fn host_address(&self) -> Ipv4Addr {
        Ipv4Addr::new(10, 77, self.net, 254)
    }

    /// Cuts every link in `cuts` both ways (pairs of node numbers); links not named stay up.
    /// Replaces any earlier partition.
    pub async fn partition(&self, cuts: &BTreeSet<(u8, u8)>) -> Result<(), HarnessError> {
        self.heal().await?;
        for &(a, b) in cuts {
            for (here, there) in [(a, b), (b, a)] {
                let ns = self.namespace(here);
                let peer = self.address(there).to_string();
                in_ns(&ns, "iptables", &["-w", "5", "-A", "INPUT", "-s", &peer, "-j", "DROP"]).await?;
                in_ns(&ns, "iptables", &["-w", "5", "-A", "OUTPUT", "-d", &peer, "-j", "DROP"]).await?;
            }
        }
        Ok(())
    }

    /// Removes every partition rule.
    pub async fn heal(&self) -> Result<(), HarnessError> {
        for node in 1..=self.nodes {
            let ns = self.namespace(node);
            in_ns(&ns, "iptables", &["-w", "5", "-F", "INPUT"]).await?;
            in_ns(&ns, "iptables", &["-w", "5", "-F", "OUTPUT"]).await?;
        }
        Ok(())
    }

    fn switch(&self) -> String {
        format!("tj{}-sw", self.net)
    }

    fn host_link(&self) -> String {
        format!("tj{}-host", self.net)
    }

    /// Deletes what [`Network::create`] made; missing pieces are fine.
    fn remove_blocking(&self) {
        let quiet = |args: &[&str]| {
            let _ = std::process::Command::new("ip")
                .args(args)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        };
        for node in 1..=self.nodes {
            quiet(&["netns", "del", &self.namespace(node)]);
        }
        quiet(&["netns", "del", &self.switch()]);
        quiet(&["link", "del", &self.host_link()]);
    }
}

impl Drop for Network {
    fn drop(&mut self) {
        self.remove_blocking();
    }
}

/// Runs `program args…` inside namespace `ns`.
async fn in_ns(ns: &str, program: &str, args: &[&str]) -> Result<(), HarnessError> {
    let mut full = vec!["netns", "exec", ns, program];
    full.extend_from_slice(args);
    run("ip", &full).await
}

/// Runs a host command to completion.
async fn run(program: &str, args: &[&str]) -> Result<(), HarnessError> {
    crate::host_command::run(program, args).await?;
    Ok(())
}
