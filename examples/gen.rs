//! Deterministic generator of `erp`-model tenants for the benchmarks (issue 4).
//!
//! ```sh
//! cargo run --release --example gen -- single 1000000 target/bench-data/1m.json
//! cargo run --release --example gen -- bulk 2000 500 target/bench-data/bulk.jsonl
//! cargo run --release --example gen -- single 1000 - --seed 7      # to stdout, another seed
//! ```
//!
//! The same seed and arguments always give the same bytes (a splitmix64 PRNG written here,
//! one stream per tenant, so a bulk file's tenant `i` does not depend on the others).
//!
//! A tenant with `U` users has:
//! - `max(5, U/50)` roles, about 60% allowing multiple sessions;
//! - `U` users with 0–4 sessions, 1–3 role references and a session cap of 1–3
//!   (absent, so the model's default 1, for about 10% of them);
//! - `max(2, U/200)` integrations with 0–8 certificates;
//! - fields no rule reads, as real exports have them: names, emails, devices, browsers,
//!   IPs, timestamps, permissions, redirect URIs, an account id;
//! - platform `netsuite`, release `2026.1`.
//!
//! Each of the six rules of `benches/workload/six-rules.tenet` is violated by a planted
//! share of its subjects ([`RATES`], all between 2% and 5%); the generator returns the
//! planted counts ([`Stats`]) and `gen` prints them, so a benchmark can check that an
//! engine found exactly what was planted. In `single` mode the tenant always violates R4
//! (so every rule has findings); in `bulk` mode R4 is planted in [`RATES`]`.r4` of the
//! tenants. Role `0` always allows multiple sessions and role `1` never does.
//!
//! The output is compact JSON (one line per tenant); every string is plain ASCII that needs
//! no escaping.

#![allow(dead_code)] // the benches include this file as a module and use only part of it

use std::io::{self, BufWriter, Write};

/// Share of subjects violating each rule (R1 roles, R2 users, R3 integrations, R4 tenants,
/// R5 integrations, R6 users).
pub const RATES: [f64; 6] = [0.04, 0.03, 0.05, 0.03, 0.03, 0.04];

/// Rule names, as in `six-rules.tenet`, indexed like [`RATES`].
pub const RULES: [&str; 6] = [
    "r1_multi_session_requires_2fa",
    "r2_session_cap",
    "r3_cert_cap",
    "r4_seats_cover_session_caps",
    "r5_no_basic_auth",
    "r6_multi_session_roles",
];

/// The default seed.
pub const SEED: u64 = 0x7e4e_7000_2026_0001;

/// splitmix64 (Steele, Lea, Flood 2014): tiny, fast, and good enough for test data.
#[derive(Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n > 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        ((self.next_u64() as u128 * n as u128) >> 64) as u64
    }

    /// Uniform in `lo..=hi`.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi - lo + 1)
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        ((self.next_u64() >> 11) as f64) * (1.0 / (1u64 << 53) as f64) < p
    }

    pub fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }
}

/// What one generation wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    pub tenants: u64,
    pub roles: u64,
    pub users: u64,
    pub sessions: u64,
    pub integrations: u64,
    pub certs: u64,
    /// Planted violations per rule, indexed like [`RULES`].
    pub violations: [u64; 6],
    pub bytes: u64,
}

impl Stats {
    pub fn add(&mut self, o: &Stats) {
        self.tenants += o.tenants;
        self.roles += o.roles;
        self.users += o.users;
        self.sessions += o.sessions;
        self.integrations += o.integrations;
        self.certs += o.certs;
        for (a, b) in self.violations.iter_mut().zip(o.violations) {
            *a += b;
        }
        self.bytes += o.bytes;
    }

    /// Entities of every kind, the tenant included.
    pub fn entities(&self) -> u64 {
        self.tenants + self.roles + self.users + self.sessions + self.integrations + self.certs
    }

    pub fn total_violations(&self) -> u64 {
        self.violations.iter().sum()
    }
}

/// Whether a tenant violates R4.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum R4 {
    Always,
    /// With probability `RATES[3]`.
    Random,
}

/// One tenant of `users` users, as one line of compact JSON (no newline).
pub fn tenant_json(seed: u64, index: u64, users: usize, r4: R4) -> (Vec<u8>, Stats) {
    let mut out = Vec::with_capacity(users * 320 + 4096);
    let stats = match write_tenant(&mut out, seed, index, users, r4) {
        Ok(s) => s,
        Err(_) => unreachable!("writing to a Vec cannot fail"),
    };
    (out, stats)
}

/// The `single` data set: one tenant that violates R4.
pub fn single(users: usize, seed: u64) -> (Vec<u8>, Stats) {
    tenant_json(seed, 1, users, R4::Always)
}

/// The `bulk` data set: one JSON line per tenant (without newlines).
pub fn bulk(tenants: usize, users: usize, seed: u64) -> (Vec<Vec<u8>>, Stats) {
    let mut total = Stats::default();
    let lines = (1..=tenants as u64)
        .map(|i| {
            let (line, s) = tenant_json(seed, i, users, R4::Random);
            total.add(&s);
            line
        })
        .collect();
    (lines, total)
}

/// A writer that counts bytes.
struct Counting<W> {
    inner: W,
    n: u64,
}

impl<W: Write> Write for Counting<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.n += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

const FIRST: &[&str] = &[
    "Ana", "Kofi", "Mei", "Lars", "Priya", "Tomas", "Aiko", "Omar", "Sofia", "Jonas", "Zara", "Diego", "Nina", "Ravi",
    "Elena", "Femi", "Hana", "Igor", "Lucia", "Mateo",
];
const LAST: &[&str] = &[
    "Souza", "Mensah", "Chen", "Berg", "Patel", "Novak", "Sato", "Haddad", "Rossi", "Weber", "Khan", "Lopez",
    "Ivanova", "Iyer", "Popescu", "Adeyemi", "Kim", "Petrov", "Garcia", "Moreau",
];
const DEVICES: &[&str] =
    &["MacBook Air 13", "Windows 11 laptop", "iPhone 15", "Galaxy S23", "ThinkPad X1", "iPad Air", "Chromebook"];
const BROWSERS: &[&str] = &["Chrome 131", "Safari 18", "Edge 131", "Firefox 133"];
const CLIENTS: &[&str] = &["web", "web", "web", "mobile_app", "api"];
const PERMISSIONS: &[&str] = &[
    "LIST_CUSTJOB",
    "TRAN_SALESORD",
    "TRAN_JOURNAL",
    "LIST_EMPLOYEE",
    "REPO_FINANCIALS",
    "ADMI_SETUP",
    "REST_WEB_SERVICES",
    "LIST_CASE",
];
const ROLE_NAMES: &[&str] =
    &["Sales Rep", "Accountant", "Warehouse Clerk", "Buyer", "Support Agent", "Controller", "Integration", "Auditor"];
const INTEGRATION_NAMES: &[&str] =
    &["Shopify Sync", "Salesforce Connector", "Payroll Export", "EDI Gateway", "BI Extract", "Expense App"];

/// Seconds since the Unix epoch → `YYYY-MM-DDTHH:MM:SSZ` (H. Hinnant's civil_from_days).
fn write_datetime(w: &mut impl Write, secs: i64) -> io::Result<()> {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    write!(w, "\"{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z\"", rem / 3600, rem / 60 % 60, rem % 60)
}

/// 2026-11-21T00:00:00Z: the day before the benchmark's `--now`.
const EXPORT_DAY: i64 = 1_795_219_200;

/// Writes one tenant as compact JSON (no newline); returns what it wrote.
pub fn write_tenant(w: &mut impl Write, seed: u64, index: u64, users: usize, r4: R4) -> io::Result<Stats> {
    let mut w = Counting { inner: w, n: 0 };
    let mut base = Rng::new(seed ^ index.wrapping_mul(0xa076_1d64_78bd_642f));
    // Independent streams, so that session caps can be summed before the users are written.
    let mut rng = Rng::new(base.next_u64());
    let mut caps = Rng::new(base.next_u64());
    let mut st = Stats { tenants: 1, ..Stats::default() };

    let n_roles = (users / 50).max(5);
    let n_integrations = (users / 200).max(2);
    let users_u64 = users as u64;

    // Roles: multi-session or not; R1 violators are multi-session roles without 2FA.
    let mut multi = Vec::with_capacity(n_roles);
    let mut single = Vec::with_capacity(n_roles);
    let mut role_multi = Vec::with_capacity(n_roles);
    for r in 0..n_roles {
        let is_multi = match r {
            0 => true,
            1 => false,
            _ => rng.chance(0.6),
        };
        role_multi.push(is_multi);
        if is_multi {
            multi.push(r as u64);
        } else {
            single.push(r as u64);
        }
    }

    // Session caps (1–3, absent for ~10%: the model's default 1) and the seats.
    let cap_of = |caps: &mut Rng| -> (Option<u64>, u64) {
        if caps.chance(0.1) {
            (None, 1)
        } else {
            let c = caps.range(1, 3);
            (Some(c), c)
        }
    };
    let sum_caps: u64 = {
        let mut c = caps.clone();
        (0..users).map(|_| cap_of(&mut c).1).sum()
    };
    let r4_violated = match r4 {
        R4::Always => true,
        R4::Random => rng.chance(RATES[3]),
    };
    let seats = if r4_violated {
        st.violations[3] += 1;
        sum_caps.saturating_sub(rng.range(1, (sum_caps / 50).max(1)))
    } else {
        sum_caps + rng.range(0, sum_caps / 10)
    };

    let company = FIRST[(index % FIRST.len() as u64) as usize];
    write!(
        w,
        "{{\"id\":\"t-{index:06}\",\"name\":\"{company} Holdings {index}\",\"platform\":\"netsuite\",\"release\":\"2026.1\",\
         \"account_id\":\"TSTDRV{:07}\",\"exported_at\":",
        rng.below(10_000_000)
    )?;
    write_datetime(&mut w, EXPORT_DAY + 84_600)?;
    write!(
        w,
        ",\"plan\":{{\"edition\":\"premium\",\"seats\":{seats}}},\"settings\":{{\"login_notifications\":{},\
         \"password_policy\":\"strong\",\"session_timeout_minutes\":{}}}",
        rng.chance(0.5),
        rng.range(15, 120)
    )?;

    // ---------------------------------------------------------------------------- roles
    w.write_all(b",\"roles\":[")?;
    for (r, &is_multi) in role_multi.iter().enumerate() {
        if r > 0 {
            w.write_all(b",")?;
        }
        write!(w, "{{\"id\":\"r-{r:05}\",\"name\":\"{} {r}\"", rng.pick(ROLE_NAMES))?;
        if is_multi {
            // RATES[0] is a share of all roles; about 60% of them allow multiple sessions.
            let violates = r > 0 && rng.chance(RATES[0] / 0.6);
            if violates {
                st.violations[0] += 1;
                // `2fa` false, or absent (the model's default false).
                if rng.chance(0.5) {
                    w.write_all(b",\"multiple_sessions\":true,\"2fa\":false")?;
                } else {
                    w.write_all(b",\"multiple_sessions\":true")?;
                }
            } else {
                w.write_all(b",\"multiple_sessions\":true,\"2fa\":true")?;
            }
        } else if rng.chance(0.5) {
            write!(w, ",\"multiple_sessions\":false,\"2fa\":{}", rng.chance(0.5))?;
        } // else: both absent (defaults false)
        write!(w, ",\"status\":\"{}\",\"permissions\":[", if rng.chance(0.9) { "active" } else { "pending_approval" })?;
        for p in 0..rng.range(1, 3) {
            if p > 0 {
                w.write_all(b",")?;
            }
            write!(w, "\"{}\"", rng.pick(PERMISSIONS))?;
        }
        w.write_all(b"]}")?;
    }
    st.roles = n_roles as u64;

    // ---------------------------------------------------------------------------- users
    w.write_all(b"],\"users\":[")?;
    let mut session_id = 0u64;
    for u in 0..users_u64 {
        if u > 0 {
            w.write_all(b",")?;
        }
        let r2 = rng.chance(RATES[1]);
        let r6 = rng.chance(RATES[5]);
        let n_sessions = if r2 {
            4
        } else if r6 {
            rng.range(2, 3)
        } else {
            match rng.below(100) {
                0..=34 => 0,
                35..=69 => 1,
                70..=92 => 2,
                _ => 3,
            }
        };
        st.violations[1] += u64::from(r2);
        st.violations[5] += u64::from(r6);
        let (first, last) = (rng.pick(FIRST), rng.pick(LAST));
        let lower_first = first.to_ascii_lowercase();
        let lower_last = last.to_ascii_lowercase();
        write!(
            w,
            "{{\"id\":\"u-{u:07}\",\"name\":\"{first} {last}\",\"email\":\"{lower_first}.{lower_last}{u}@t{index}.example.com\"",
        )?;
        if rng.chance(0.05) {
            w.write_all(b",\"kind\":\"integration\"")?;
        }
        // Roles: 1–3 references. A user with several sessions gets only multi-session roles,
        // unless planted for R6 (then one of them is not).
        let k = rng.range(1, 3);
        let bad = if r6 { rng.below(k) } else { u64::MAX };
        w.write_all(b",\"roles\":[")?;
        for j in 0..k {
            let role = if j == bad {
                single[rng.below(single.len() as u64) as usize]
            } else if n_sessions > 1 {
                multi[rng.below(multi.len() as u64) as usize]
            } else {
                rng.below(n_roles as u64)
            };
            if j > 0 {
                w.write_all(b",")?;
            }
            write!(w, "\"r-{role:05}\"")?;
        }
        write!(w, "],\"two_factor\":{}", rng.chance(0.7))?;
        if let (Some(c), _) = cap_of(&mut caps) {
            write!(w, ",\"session_cap\":{c}")?;
        }
        if n_sessions > 0 || rng.chance(0.5) {
            w.write_all(b",\"last_login\":")?;
            write_datetime(&mut w, EXPORT_DAY - rng.below(30 * 86_400) as i64)?;
        }
        w.write_all(b",\"sessions\":[")?;
        for s in 0..n_sessions {
            if s > 0 {
                w.write_all(b",")?;
            }
            session_id += 1;
            let client = rng.pick(CLIENTS);
            write!(w, "{{\"id\":\"s-{session_id:07}\",\"client\":\"{client}\",\"device\":\"{}\"", rng.pick(DEVICES))?;
            if client == "web" {
                write!(w, ",\"browser\":\"{}\"", rng.pick(BROWSERS))?;
            }
            let ip = rng.next_u64();
            write!(w, ",\"ip\":\"10.{}.{}.{}\",\"started_at\":", ip & 0xff, (ip >> 8) & 0xff, (ip >> 16) & 0xff)?;
            let started = EXPORT_DAY + rng.below(86_400) as i64;
            write_datetime(&mut w, started)?;
            w.write_all(b"}")?;
        }
        w.write_all(b"]}")?;
        st.sessions += n_sessions;
    }
    st.users = users_u64;

    // --------------------------------------------------------------------- integrations
    w.write_all(b"],\"integrations\":[")?;
    let mut cert_id = 0u64;
    for i in 0..n_integrations as u64 {
        if i > 0 {
            w.write_all(b",")?;
        }
        let r3 = rng.chance(RATES[2]);
        let r5 = rng.chance(RATES[4]);
        st.violations[2] += u64::from(r3);
        st.violations[4] += u64::from(r5);
        let auth = if r5 {
            "basic"
        } else if rng.chance(0.7) {
            "oauth2"
        } else {
            "tba"
        };
        let api = ["rest", "rest", "soap", "suiteanalytics_connect"][rng.below(4) as usize];
        write!(
            w,
            "{{\"id\":\"i-{i:05}\",\"name\":\"{} {i}\",\"auth_method\":\"{auth}\",\"api\":\"{api}\",\"pkce\":{},\
             \"integration_user\":\"u-{:07}\",\"created_at\":",
            rng.pick(INTEGRATION_NAMES),
            rng.chance(0.5),
            rng.below(users_u64.max(1)),
        )?;
        let created = EXPORT_DAY - rng.range(30, 2000) as i64 * 86_400;
        write_datetime(&mut w, created)?;
        write!(w, ",\"redirect_uris\":[\"https://app{i}.example.com/callback\"],\"certificates\":[")?;
        // Counted = active or revoked. Violators have 6–8 of them, the others at most 5.
        let (total, counted) = if r3 {
            let c = rng.range(6, 8);
            (rng.range(c, 8), c)
        } else {
            let t = rng.range(0, 8);
            (t, rng.range(0, t.min(5)))
        };
        let mut statuses: Vec<&str> = (0..total)
            .map(|c| if c < counted { ["active", "revoked"][rng.below(2) as usize] } else { "expired" })
            .collect();
        for a in (1..statuses.len()).rev() {
            let b = rng.below(a as u64 + 1) as usize;
            statuses.swap(a, b);
        }
        for (c, status) in statuses.iter().enumerate() {
            if c > 0 {
                w.write_all(b",")?;
            }
            cert_id += 1;
            let made = created + rng.below(600 * 86_400) as i64;
            write!(w, "{{\"id\":\"c-{cert_id:06}\",\"status\":\"{status}\",\"created_at\":")?;
            write_datetime(&mut w, made)?;
            w.write_all(b",\"expires_at\":")?;
            write_datetime(&mut w, made + 730 * 86_400)?;
            w.write_all(b"}")?;
        }
        w.write_all(b"]}")?;
        st.certs += total;
    }
    st.integrations = n_integrations as u64;
    w.write_all(b"]}")?;
    st.bytes = w.n;
    Ok(st)
}

fn usage() -> ! {
    eprintln!(
        "usage: gen single USERS OUT [--seed N]\n       gen bulk TENANTS USERS OUT [--seed N]\n\
         OUT is a file path or `-` for standard output"
    );
    std::process::exit(2)
}

fn parse_num(s: &str) -> u64 {
    s.replace('_', "").parse().unwrap_or_else(|_| usage())
}

fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let mut seed = SEED;
    if let Some(i) = args.iter().position(|a| a == "--seed") {
        seed = args.get(i + 1).map(|s| parse_num(s)).unwrap_or_else(|| usage());
        args.drain(i..i + 2);
    }
    let (mode, tenants, users, out) = match args.as_slice() {
        [m, u, out] if m == "single" => (R4::Always, 1, parse_num(u), out.clone()),
        [m, t, u, out] if m == "bulk" => (R4::Random, parse_num(t), parse_num(u), out.clone()),
        _ => usage(),
    };
    let sink: Box<dyn Write> = if out == "-" {
        Box::new(io::stdout().lock())
    } else {
        match std::fs::File::create(&out) {
            Ok(f) => Box::new(f),
            Err(e) => {
                eprintln!("gen: cannot create {out}: {e}");
                std::process::exit(2)
            }
        }
    };
    let mut w = BufWriter::with_capacity(1 << 20, sink);
    let mut total = Stats::default();
    let result = (1..=tenants).try_for_each(|i| -> io::Result<()> {
        let s = write_tenant(&mut w, seed, i, users as usize, mode)?;
        total.add(&s);
        if mode == R4::Random {
            w.write_all(b"\n")?;
            total.bytes += 1;
        }
        Ok(())
    });
    if let Err(e) = result.and_then(|()| w.flush()) {
        eprintln!("gen: writing {out}: {e}");
        std::process::exit(2)
    }
    eprintln!(
        "gen: {out}: {} bytes ({:.1} MB), {} tenants, {} roles, {} users, {} sessions, {} integrations, {} certs ({} entities)",
        total.bytes,
        total.bytes as f64 / 1e6,
        total.tenants,
        total.roles,
        total.users,
        total.sessions,
        total.integrations,
        total.certs,
        total.entities()
    );
    let planted: Vec<String> = RULES.iter().zip(total.violations).map(|(r, n)| format!("{r}={n}")).collect();
    eprintln!("gen: planted violations: {} ({} total)", planted.join(" "), total.total_violations());
}
