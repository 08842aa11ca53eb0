//! The Embedded Metric Format's rules as a checker, so tests can hold every line Tollgate writes
//! to the specification (CloudWatch drops a line that breaks them, silently).
//! <https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html>

use serde_json::{Map, Value};

/// MetricDirective: at most 100 MetricDefinitions.
pub const MAX_METRICS_PER_DIRECTIVE: usize = 100;
/// DimensionSet: at most 30 dimension keys.
pub const MAX_DIMENSIONS_PER_SET: usize = 30;
/// A metric value may be an array of at most 100 numbers.
pub const MAX_VALUES_PER_METRIC: usize = 100;

/// CloudWatch's units (MetricDefinition `Unit`).
pub const UNITS: &[&str] = &[
    "Seconds",
    "Microseconds",
    "Milliseconds",
    "Bytes",
    "Kilobytes",
    "Megabytes",
    "Gigabytes",
    "Terabytes",
    "Bits",
    "Kilobits",
    "Megabits",
    "Gigabits",
    "Terabits",
    "Percent",
    "Count",
    "Bytes/Second",
    "Kilobytes/Second",
    "Megabytes/Second",
    "Gigabytes/Second",
    "Terabytes/Second",
    "Bits/Second",
    "Kilobits/Second",
    "Megabits/Second",
    "Gigabits/Second",
    "Terabits/Second",
    "Count/Second",
    "None",
];

/// One metric a valid line publishes: namespace, name, unit, the dimension name/value pairs of
/// one dimension set, and the value(s).
#[derive(Debug, Clone, PartialEq)]
pub struct Published {
    pub namespace: String,
    pub name: String,
    pub unit: Option<String>,
    pub dimensions: Vec<(String, String)>,
    pub values: Vec<f64>,
}

/// Checks one log line against the specification; on success, every (metric, dimension set)
/// it publishes.
pub fn validate(line: &str) -> Result<Vec<Published>, String> {
    // The LogEvent is a JSON object with no data before or after it.
    let root: Value = serde_json::from_str(line).map_err(|e| format!("not JSON: {e}"))?;
    let root = root.as_object().ok_or("the root is not an object")?;
    let aws = root
        .get("_aws")
        .and_then(Value::as_object)
        .ok_or("no _aws metadata object")?;
    let ts = aws.get("Timestamp").ok_or("_aws.Timestamp missing")?;
    if !ts.is_u64() {
        return Err(format!(
            "_aws.Timestamp must be milliseconds since the epoch: {ts}"
        ));
    }
    let directives = aws
        .get("CloudWatchMetrics")
        .and_then(Value::as_array)
        .ok_or("_aws.CloudWatchMetrics must be an array")?;
    if directives.is_empty() {
        return Err("_aws.CloudWatchMetrics is empty".into());
    }
    let mut out = Vec::new();
    for d in directives {
        out.extend(directive(root, d)?);
    }
    Ok(out)
}

fn only_members(obj: &Map<String, Value>, allowed: &[&str], what: &str) -> Result<(), String> {
    match obj.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(k) => Err(format!("{what} has a member the spec does not define: {k}")),
        None => Ok(()),
    }
}

fn directive(root: &Map<String, Value>, d: &Value) -> Result<Vec<Published>, String> {
    let d = d.as_object().ok_or("a MetricDirective is not an object")?;
    only_members(
        d,
        &["Namespace", "Dimensions", "Metrics"],
        "MetricDirective",
    )?;
    let namespace = d
        .get("Namespace")
        .and_then(Value::as_str)
        .ok_or("Namespace must be a string")?;
    if namespace.is_empty() || namespace.len() > 255 || namespace.starts_with("AWS/") {
        return Err(format!("bad Namespace {namespace:?}"));
    }
    let sets = d
        .get("Dimensions")
        .and_then(Value::as_array)
        .ok_or("Dimensions must be an array of DimensionSets")?;
    let mut resolved = Vec::new();
    for set in sets {
        resolved.push(dimension_set(root, set)?);
    }
    let metrics = d
        .get("Metrics")
        .and_then(Value::as_array)
        .ok_or("Metrics must be an array")?;
    if metrics.is_empty() || metrics.len() > MAX_METRICS_PER_DIRECTIVE {
        return Err(format!(
            "{} MetricDefinitions: must be 1..={MAX_METRICS_PER_DIRECTIVE}",
            metrics.len()
        ));
    }
    let mut out = Vec::new();
    for m in metrics {
        let (name, unit, values) = definition(root, m)?;
        // No dimension set at all still publishes the metric, without dimensions.
        let sets: &[Vec<(String, String)>] = if resolved.is_empty() {
            &[Vec::new()]
        } else {
            &resolved
        };
        for dims in sets {
            out.push(Published {
                namespace: namespace.to_owned(),
                name: name.clone(),
                unit: unit.clone(),
                dimensions: dims.clone(),
                values: values.clone(),
            });
        }
    }
    Ok(out)
}

fn dimension_set(root: &Map<String, Value>, set: &Value) -> Result<Vec<(String, String)>, String> {
    let keys = set.as_array().ok_or("a DimensionSet is not an array")?;
    if keys.len() > MAX_DIMENSIONS_PER_SET {
        return Err(format!(
            "a DimensionSet has {} keys (at most {MAX_DIMENSIONS_PER_SET})",
            keys.len()
        ));
    }
    let mut dims = Vec::new();
    for k in keys {
        let k = k.as_str().ok_or("a dimension key is not a string")?;
        if k.is_empty() || k.len() > 255 {
            return Err(format!("bad dimension name {k:?}"));
        }
        // Each key refers to a member of the root whose value is a string.
        let v = root
            .get(k)
            .ok_or_else(|| format!("dimension {k} has no root member"))?
            .as_str()
            .ok_or_else(|| format!("dimension {k}'s value is not a string"))?;
        if v.is_empty() || v.chars().count() > 1024 {
            return Err(format!("dimension {k}'s value must be 1..=1024 characters"));
        }
        if dims.iter().any(|(d, _): &(String, String)| d == k) {
            return Err(format!("dimension {k} twice in one set"));
        }
        dims.push((k.to_owned(), v.to_owned()));
    }
    Ok(dims)
}

type Definition = (String, Option<String>, Vec<f64>);

fn definition(root: &Map<String, Value>, m: &Value) -> Result<Definition, String> {
    let m = m.as_object().ok_or("a MetricDefinition is not an object")?;
    only_members(
        m,
        &["Name", "Unit", "StorageResolution"],
        "MetricDefinition",
    )?;
    let name = m
        .get("Name")
        .and_then(Value::as_str)
        .ok_or("MetricDefinition.Name must be a string")?;
    if name.is_empty() || name.len() > 255 {
        return Err(format!("bad metric name {name:?}"));
    }
    let unit = match m.get("Unit") {
        None => None,
        Some(u) => {
            let u = u.as_str().ok_or("Unit must be a string")?;
            if !UNITS.contains(&u) {
                return Err(format!("{name}: {u} is not a CloudWatch unit"));
            }
            Some(u.to_owned())
        }
    };
    if let Some(r) = m.get("StorageResolution")
        && !matches!(r.as_u64(), Some(1 | 60))
    {
        return Err(format!("{name}: StorageResolution must be 1 or 60"));
    }
    let values = match root.get(name) {
        Some(Value::Number(n)) => vec![n.as_f64().ok_or("value out of range")?],
        Some(Value::Array(a)) if !a.is_empty() && a.len() <= MAX_VALUES_PER_METRIC => a
            .iter()
            .map(|v| {
                v.as_f64()
                    .ok_or_else(|| format!("{name}: a value is not a number"))
            })
            .collect::<Result<_, _>>()?,
        Some(other) => return Err(format!("{name}'s value is not a number: {other}")),
        None => return Err(format!("metric {name} has no root member")),
    };
    Ok((name.to_owned(), unit, values))
}
