//! The six rules in Rego (`benches/workload/six-rules.rego`) through the `regorus`
//! interpreter: the policy is parsed once, then each tenant document is parsed into a
//! regorus `Value`, set as `input`, and `data.sixrules.violations` is evaluated.
//!
//! Included as a module by `benches/vs_rego.rs` and `benches/bin/rego.rs`.

#![allow(dead_code)] // each includer uses part of it

/// One violation: (tenant id, rule name, subject id).
pub type Violation = (String, String, String);

/// The workload's Rego source.
pub const POLICY: &str = include_str!("../workload/six-rules.rego");

pub struct Rego {
    engine: regorus::Engine,
}

impl Rego {
    pub fn new() -> Result<Rego, String> {
        let mut engine = regorus::Engine::new();
        engine.add_policy("six-rules.rego".to_string(), POLICY.to_string()).map_err(|e| e.to_string())?;
        Ok(Rego { engine })
    }

    /// Parses one tenant document and evaluates the rules; `out(tenant, rule, id)` per violation.
    pub fn check(&mut self, json: &str, mut out: impl FnMut(&str, &str, &str)) -> Result<(), String> {
        let input = regorus::Value::from_json_str(json).map_err(|e| e.to_string())?;
        self.engine.set_input(input);
        let result = self.engine.eval_rule("data.sixrules.violations".to_string()).map_err(|e| e.to_string())?;
        if result == regorus::Value::Undefined {
            return Ok(());
        }
        for v in result.as_set().map_err(|e| e.to_string())?.iter() {
            let field = |k: &str| -> Result<&str, String> {
                v[k].as_string().map(|s| &**s).map_err(|e| format!("violation field `{k}`: {e}"))
            };
            out(field("tenant")?, field("rule")?, field("id")?);
        }
        Ok(())
    }

    /// Parses and checks one tenant document.
    pub fn violations(&mut self, json: &str) -> Result<Vec<Violation>, String> {
        let mut v = Vec::new();
        self.check(json, |t, r, id| v.push((t.to_string(), r.to_string(), id.to_string())))?;
        Ok(v)
    }
}
