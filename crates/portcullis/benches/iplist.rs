//! IP list lookup cost as lists grow (issue: lookups stay fast at 1 million entries). Run with
//! `cargo bench -p portcullis --bench iplist`; prints ns per lookup for addresses inside and
//! outside the list at 1 thousand, 100 thousand and 1 million IPv4 networks (a mix of /16 to
//! /32, as blocklists are), and for 100 thousand IPv6 /64s. A benchmark, not a test: it asserts
//! nothing; compare the rows of one run.

use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Instant;

use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use portcullis::policy::ipfilter::IpList;

const LOOKUPS: usize = 1_000_000;

/// A small deterministic generator (xorshift), so runs compare.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

fn time(list: &IpList, probes: &[IpAddr]) -> (f64, usize) {
    let start = Instant::now();
    let mut hits = 0usize;
    for i in 0..LOOKUPS {
        if list.contains(black_box(probes[i % probes.len()])) {
            hits += 1;
        }
    }
    (start.elapsed().as_nanos() as f64 / LOOKUPS as f64, hits)
}

fn main() {
    println!(
        "{:>22} {:>14} {:>14}",
        "list", "inside ns/op", "outside ns/op"
    );
    for n in [1_000usize, 100_000, 1_000_000] {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let mut list = IpList::default();
        let mut inside = Vec::new();
        while list.len() < n {
            // 10.0.0.0/8 is kept out of the list: it is where the outside probes come from.
            let mut addr = (rng.next() >> 32) as u32;
            if addr >> 24 == 10 {
                addr ^= 0x0100_0000;
            }
            let len = 16 + (rng.next() % 17) as u8;
            if let Ok(net) = Ipv4Net::new(Ipv4Addr::from(addr), len) {
                list.insert(IpNet::V4(net.trunc()));
                if inside.len() < 4096 {
                    inside.push(IpAddr::V4(Ipv4Addr::from(addr)));
                }
            }
        }
        let outside: Vec<IpAddr> = (0..4096)
            .map(|_| IpAddr::V4(Ipv4Addr::from(0x0a00_0000 | ((rng.next() >> 40) as u32))))
            .collect();
        let (a, ha) = time(&list, &inside);
        let (b, hb) = time(&list, &outside);
        println!(
            "{:>22} {a:>14.1} {b:>14.1}   (hits {ha}/{LOOKUPS}, {hb}/{LOOKUPS})",
            format!("{n} IPv4 networks")
        );
    }
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let mut list = IpList::default();
    let mut inside = Vec::new();
    while list.len() < 100_000 {
        let addr = Ipv6Addr::from(0x2001_0db8_u128 << 96 | u128::from(rng.next() >> 32) << 64);
        if let Ok(net) = Ipv6Net::new(addr, 64) {
            list.insert(IpNet::V6(net.trunc()));
            if inside.len() < 4096 {
                inside.push(IpAddr::V6(addr));
            }
        }
    }
    let outside: Vec<IpAddr> = (0..4096)
        .map(|i| IpAddr::V6(Ipv6Addr::from(0xfd00_u128 << 112 | i as u128)))
        .collect();
    let (a, _) = time(&list, &inside);
    let (b, _) = time(&list, &outside);
    println!("{:>22} {a:>14.1} {b:>14.1}", "100000 IPv6 /64s");
}
