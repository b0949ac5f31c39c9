//! AsyncAPI 2.x and 3.x documents as a list of channels, each with its operations and the
//! messages that travel on it (headers and payload as schema trees), then the named schemas.

use std::collections::{HashMap, HashSet};

use serde_json::{Map, Value};

use super::schema::{
    NamedSchema, Schemas, follow, named_schemas, ref_name, schema_links, tree_budget,
};
use super::{
    DefinitionFormat, DefinitionSummary, Html, Ids, Server, Warnings, describe_json_type,
    document_header, scalar_text,
};

const MESSAGE_SCHEMA_DEPTH: usize = 8;
const SECTION_SCHEMA_DEPTH: usize = 4;
/// Schema trees of a typical channel: a message or two with payload and headers.
const TREES_PER_CHANNEL: usize = 4;
/// Messages listed under one operation (`oneOf` lists can be long).
const MAX_MESSAGES_PER_OPERATION: usize = 100;

struct Context<'a, 'w> {
    doc: &'a Value,
    /// Levels the schema trees of messages show (0 for very large definitions).
    depth: usize,
    schemas: Schemas<'a>,
    warnings: &'w mut Warnings,
    ids: Ids,
    default_content_type: Option<&'a str>,
}

fn no_active(_: &str) -> bool {
    false
}

pub(super) fn render(
    doc: &Value,
    out: &mut Html,
    summary: &mut DefinitionSummary,
    warnings: &mut Warnings,
) {
    summary.format = DefinitionFormat::AsyncApi;
    summary.spec_version = doc.get("asyncapi").and_then(scalar_text);
    let v3 = match &summary.spec_version {
        Some(version) => version.starts_with('3'),
        None => {
            warnings.push(
                "The document has no asyncapi version field; it is read as AsyncAPI 2.".to_owned(),
            );
            false
        }
    };
    let info = doc.get("info").and_then(Value::as_object);
    if info.is_none() {
        warnings.push("The document has no info section.".to_owned());
    }
    summary.title = info.and_then(|i| i.get("title")).and_then(scalar_text);
    summary.version = info.and_then(|i| i.get("version")).and_then(scalar_text);

    let mut ids = Ids::default();
    let named = named_schemas(
        doc.pointer("/components/schemas"),
        "#/components/schemas/",
        &mut ids,
        warnings,
    );
    summary.schemas = named.len();
    let channels: Vec<(&str, &Value)> = match doc.get("channels") {
        Some(Value::Object(channels)) => channels.iter().map(|(k, v)| (k.as_str(), v)).collect(),
        Some(other) => {
            warnings.push(format!(
                "channels are {}, not a mapping.",
                describe_json_type(other)
            ));
            Vec::new()
        }
        None => Vec::new(),
    };
    summary.channels = channels.len();

    let mut schemas = Schemas::new(doc, schema_links(&named));
    let (entries, depth) = tree_budget(channels.len(), TREES_PER_CHANNEL, MESSAGE_SCHEMA_DEPTH);
    schemas.nodes_per_tree = entries;
    let mut cx = Context {
        doc,
        depth,
        schemas,
        warnings,
        ids,
        default_content_type: doc.get("defaultContentType").and_then(Value::as_str),
    };

    let description = info
        .and_then(|i| i.get("description"))
        .and_then(Value::as_str);
    document_header(out, summary, description, &servers(doc));
    if channels.is_empty() {
        out.note("This definition declares no channels.");
    }
    if v3 {
        render_v3(&mut cx, out, summary, &channels);
    } else {
        render_v2(&mut cx, out, summary, &channels);
    }
    finish(&mut cx, out, &named, channels.len());
}

fn finish<'a>(
    cx: &mut Context<'a, '_>,
    out: &mut Html,
    named: &[NamedSchema<'a>],
    channels: usize,
) {
    cx.schemas
        .section(out, named, SECTION_SCHEMA_DEPTH, cx.warnings);
    cx.schemas.report_cuts(
        cx.warnings,
        &format!("{MESSAGE_SCHEMA_DEPTH} levels in messages, {SECTION_SCHEMA_DEPTH} in the schemas section"),
        (cx.depth == 0).then_some((channels, "channels")),
    );
}

fn servers(doc: &Value) -> Vec<Server> {
    let Some(Value::Object(servers)) = doc.get("servers") else {
        return Vec::new();
    };
    servers
        .iter()
        .filter_map(|(name, server)| {
            let server = server.as_object()?;
            // v2 has `url`; v3 splits it into `host` and `pathname`.
            let url = match server.get("url").and_then(Value::as_str) {
                Some(url) => url.to_owned(),
                None => format!(
                    "{}{}",
                    server.get("host").and_then(Value::as_str)?,
                    server.get("pathname").and_then(Value::as_str).unwrap_or("")
                ),
            };
            let protocol = server
                .get("protocol")
                .and_then(Value::as_str)
                .map(
                    |protocol| match server.get("protocolVersion").and_then(scalar_text) {
                        Some(version) => format!("{protocol} {version}"),
                        None => protocol.to_owned(),
                    },
                );
            let description = server.get("description").and_then(Value::as_str);
            Some(Server {
                url,
                protocol,
                description: Some(match description {
                    Some(description) => format!("{name}: {description}"),
                    None => name.clone(),
                }),
            })
        })
        .collect()
}

fn channels_open(out: &mut Html) {
    out.raw("<section class=\"apidef-group apidef-channels\"><h3 class=\"apidef-group-title\">Channels</h3>");
}

fn channel_open(
    cx: &mut Context,
    out: &mut Html,
    id_name: &str,
    shown_name: &str,
    actions: &[&str],
) {
    out.raw("<details class=\"channel\" id=\"");
    out.text(&cx.ids.unique("channel", id_name));
    out.raw("\"><summary><code class=\"channel-name\">");
    out.text(shown_name);
    out.raw("</code>");
    for action in actions {
        out.raw(" ");
        action_badge(out, action);
    }
    out.raw("</summary><div class=\"channel-body\">");
}

fn action_badge(out: &mut Html, action: &str) {
    let class = match action {
        "publish" | "subscribe" | "send" | "receive" => action,
        _ => "other",
    };
    out.raw("<span class=\"action action-");
    out.raw(class);
    out.raw("\">");
    out.text(action);
    out.raw("</span>");
}

fn render_v2<'a>(
    cx: &mut Context<'a, '_>,
    out: &mut Html,
    summary: &mut DefinitionSummary,
    channels: &[(&'a str, &'a Value)],
) {
    let mut seen_messages: HashSet<String> = HashSet::new();
    if !channels.is_empty() {
        channels_open(out);
    }
    for (shown, (name, channel)) in channels.iter().enumerate() {
        if out.full() {
            cx.warnings.push(format!(
                "The structured view stops after {shown} of {} channels (size limit).",
                channels.len()
            ));
            break;
        }
        let resolved = follow(cx.doc, channel, &no_active);
        if let Some(problem) = resolved.problem {
            cx.warnings
                .push(format!("Channel {name}: {}", problem.describe()));
            continue;
        }
        let Some(channel) = resolved.value.as_object() else {
            cx.warnings.push(format!(
                "Channel {name} is {}, not a mapping.",
                describe_json_type(resolved.value)
            ));
            continue;
        };
        let actions: Vec<&str> = channel
            .keys()
            .map(String::as_str)
            .filter(|k| matches!(*k, "publish" | "subscribe"))
            .collect();
        channel_open(cx, out, name, name, &actions);
        if let Some(description) = channel.get("description").and_then(Value::as_str) {
            out.description("channel-description", description);
        }
        parameters_table(cx, out, channel.get("parameters"), name);
        for action in actions {
            let Some(operation) = channel.get(action) else {
                continue;
            };
            let resolved = follow(cx.doc, operation, &no_active);
            let Some(operation) = resolved
                .value
                .as_object()
                .filter(|_| resolved.problem.is_none())
            else {
                cx.warnings.push(format!(
                    "Channel {name}: {action} is not an operation mapping."
                ));
                continue;
            };
            summary.operations += 1;
            operation_open(cx, out, action, operation);
            let messages = v2_operation_messages(operation.get("message"));
            for (index, message) in messages.iter().take(MAX_MESSAGES_PER_OPERATION).enumerate() {
                let key = match message.get("$ref").and_then(Value::as_str) {
                    Some(reference) => reference.to_owned(),
                    None => format!("{name}/{action}/{index}"),
                };
                seen_messages.insert(key);
                render_message(cx, out, message, None, &format!("channel {name} {action}"));
            }
            if messages.len() > MAX_MESSAGES_PER_OPERATION {
                out.note(&format!(
                    "{} more messages are not shown.",
                    messages.len() - MAX_MESSAGES_PER_OPERATION
                ));
            }
            out.raw("</div>");
        }
        out.raw("</div></details>");
    }
    if !channels.is_empty() {
        out.raw("</section>");
    }
    summary.messages = seen_messages.len();
}

/// An operation's messages: one message, or the alternatives of `oneOf`.
fn v2_operation_messages(message: Option<&Value>) -> Vec<&Value> {
    match message {
        None => Vec::new(),
        Some(message) => match message.get("oneOf") {
            Some(Value::Array(alternatives)) => alternatives.iter().collect(),
            _ => vec![message],
        },
    }
}

fn operation_open(cx: &mut Context, out: &mut Html, action: &str, operation: &Map<String, Value>) {
    let operation_id = operation.get("operationId").and_then(Value::as_str);
    out.raw("<div class=\"channel-operation\"");
    if let Some(operation_id) = operation_id {
        out.raw(" id=\"");
        out.text(&cx.ids.unique("op", operation_id));
        out.raw("\"");
    }
    out.raw("><h4 class=\"operation-section\">");
    action_badge(out, action);
    if let Some(operation_id) = operation_id {
        out.raw(" ");
        out.element("code", "operation-id", operation_id);
    }
    if let Some(title) = operation.get("title").and_then(Value::as_str) {
        out.raw(" ");
        out.element("span", "operation-summary", title);
    }
    out.raw("</h4>");
    if let Some(summary) = operation.get("summary").and_then(Value::as_str) {
        out.description("operation-summary", summary);
    }
    if let Some(description) = operation.get("description").and_then(Value::as_str) {
        out.description("operation-description", description);
    }
}

fn parameters_table<'a>(
    cx: &mut Context<'a, '_>,
    out: &mut Html,
    parameters: Option<&'a Value>,
    channel: &str,
) {
    let parameters = match parameters {
        None => return,
        Some(Value::Object(parameters)) if parameters.is_empty() => return,
        Some(Value::Object(parameters)) => parameters,
        Some(other) => {
            cx.warnings.push(format!(
                "Channel {channel}: parameters are {}, not a mapping.",
                describe_json_type(other)
            ));
            return;
        }
    };
    out.raw("<h4 class=\"operation-section\">Parameters</h4><table class=\"params\"><thead><tr><th>Name</th><th>Type</th><th>Description</th></tr></thead><tbody>");
    for (name, parameter) in parameters {
        let parameter = follow(cx.doc, parameter, &no_active).value;
        out.raw("<tr><td>");
        out.element("code", "param-name", name);
        out.raw("</td><td>");
        // v2 parameters carry a schema; v3 parameters are strings with enum/default inline.
        match parameter.get("schema") {
            Some(schema) => cx.schemas.label(out, schema),
            None => out.raw("<span class=\"schema-type\">string</span>"),
        }
        out.raw("</td><td>");
        if let Some(description) = parameter.get("description").and_then(Value::as_str) {
            out.description("param-description", description);
        }
        let facts_source = parameter
            .get("schema")
            .map_or(parameter, |schema| follow(cx.doc, schema, &no_active).value);
        super::schema::facts(out, facts_source);
        out.raw("</td></tr>");
    }
    out.raw("</tbody></table>");
}

/// A message field, taken from the message or else from the first of its traits that has it.
fn message_field<'a>(
    message: &'a Map<String, Value>,
    traits: &[&'a Map<String, Value>],
    key: &str,
) -> Option<&'a Value> {
    message
        .get(key)
        .or_else(|| traits.iter().find_map(|t| t.get(key)))
}

fn render_message<'a>(
    cx: &mut Context<'a, '_>,
    out: &mut Html,
    message: &'a Value,
    key_name: Option<&str>,
    where_: &str,
) {
    if out.full() {
        return;
    }
    let resolved = follow(cx.doc, message, &no_active);
    if let Some(problem) = resolved.problem {
        cx.warnings
            .push(format!("A message of {where_}: {}", problem.describe()));
        out.raw("<p class=\"apidef-note message-missing\">");
        out.text(&format!("Message not shown: {}", problem.describe()));
        out.raw("</p>");
        return;
    }
    let Some(object) = resolved.value.as_object() else {
        cx.warnings.push(format!(
            "A message of {where_} is {}, not a mapping.",
            describe_json_type(resolved.value)
        ));
        return;
    };
    let traits: Vec<&Map<String, Value>> = match object.get("traits") {
        Some(Value::Array(traits)) => traits
            .iter()
            .filter_map(|t| follow(cx.doc, t, &no_active).value.as_object())
            .collect(),
        _ => Vec::new(),
    };
    let name = object
        .get("name")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .or_else(|| key_name.map(str::to_owned))
        .or_else(|| resolved.refs.last().map(|r| ref_name(r)))
        .or_else(|| {
            object
                .get("messageId")
                .and_then(Value::as_str)
                .map(str::to_owned)
        })
        .unwrap_or_else(|| "message".to_owned());
    out.raw("<details class=\"message\"><summary><span class=\"message-name\">");
    out.text(&name);
    out.raw("</span>");
    if let Some(title) = message_field(object, &traits, "title").and_then(Value::as_str) {
        out.raw(" ");
        out.element("span", "message-title", title);
    }
    let content_type = message_field(object, &traits, "contentType")
        .and_then(Value::as_str)
        .or(cx.default_content_type);
    if let Some(content_type) = content_type {
        out.raw(" ");
        out.element("code", "message-content-type", content_type);
    }
    out.raw("</summary><div class=\"message-body\">");
    if let Some(summary) = message_field(object, &traits, "summary").and_then(Value::as_str) {
        out.description("message-summary", summary);
    }
    if let Some(description) = message_field(object, &traits, "description").and_then(Value::as_str)
    {
        out.description("message-description", description);
    }
    if let Some(headers) = message_field(object, &traits, "headers") {
        out.raw("<h5 class=\"message-part\">Headers</h5>");
        let (schema, format) = unwrap_multi_format(headers);
        schema_or_format_note(cx, out, schema, format);
    }
    match object.get("payload") {
        Some(payload) => {
            out.raw("<h5 class=\"message-part\">Payload</h5>");
            let (schema, format) = unwrap_multi_format(payload);
            let format = format.or_else(|| object.get("schemaFormat").and_then(Value::as_str));
            schema_or_format_note(cx, out, schema, format);
        }
        None => out.note("No payload schema."),
    }
    out.raw("</div></details>");
}

/// AsyncAPI 3 allows `{schemaFormat, schema}` wherever a schema goes.
fn unwrap_multi_format(value: &Value) -> (&Value, Option<&str>) {
    match (value.get("schemaFormat"), value.get("schema")) {
        (Some(format), Some(schema)) => (schema, format.as_str()),
        _ => (value, None),
    }
}

fn is_json_schema_format(format: &str) -> bool {
    let format = format.to_ascii_lowercase();
    format.starts_with("application/vnd.aai.asyncapi")
        || format.starts_with("application/schema+json")
        || format.starts_with("application/schema+yaml")
        || format.starts_with("application/vnd.oai.openapi")
}

fn schema_or_format_note<'a>(
    cx: &mut Context<'a, '_>,
    out: &mut Html,
    schema: &'a Value,
    format: Option<&str>,
) {
    match format {
        Some(format) if !is_json_schema_format(format) => {
            out.raw("<p class=\"apidef-note\">The schema is in format ");
            out.element("code", "", format);
            out.raw("; see the raw definition.</p>");
        }
        _ => cx.schemas.tree(out, schema, cx.depth),
    }
}

fn render_v3<'a>(
    cx: &mut Context<'a, '_>,
    out: &mut Html,
    summary: &mut DefinitionSummary,
    channels: &[(&'a str, &'a Value)],
) {
    // Operations, and the channel reference each names.
    let mut operations: Vec<(&'a str, &'a Map<String, Value>, Option<&'a str>)> = Vec::new();
    match cx.doc.get("operations") {
        Some(Value::Object(map)) => {
            for (id, operation) in map {
                let resolved = follow(cx.doc, operation, &no_active);
                let Some(operation) = resolved
                    .value
                    .as_object()
                    .filter(|_| resolved.problem.is_none())
                else {
                    cx.warnings
                        .push(format!("Operation {id} is not an operation mapping."));
                    continue;
                };
                let channel = operation
                    .get("channel")
                    .and_then(|c| c.get("$ref"))
                    .and_then(Value::as_str);
                operations.push((id.as_str(), operation, channel));
            }
        }
        Some(other) => cx.warnings.push(format!(
            "operations are {}, not a mapping.",
            describe_json_type(other)
        )),
        None => {}
    }
    summary.operations = operations.len();
    let mut by_channel: HashMap<&str, Vec<usize>> = HashMap::new();
    for (index, (_, _, channel)) in operations.iter().enumerate() {
        if let Some(channel) = channel {
            by_channel.entry(channel).or_default().push(index);
        }
    }
    let mut placed = vec![false; operations.len()];
    let mut seen_messages: HashSet<String> = HashSet::new();
    if !channels.is_empty() {
        channels_open(out);
    }
    for (shown, (id, channel)) in channels.iter().enumerate() {
        if out.full() {
            cx.warnings.push(format!(
                "The structured view stops after {shown} of {} channels (size limit).",
                channels.len()
            ));
            break;
        }
        let own_ref = format!("#/channels/{}", id.replace('~', "~0").replace('/', "~1"));
        let resolved = follow(cx.doc, channel, &no_active);
        let Some(channel) = resolved
            .value
            .as_object()
            .filter(|_| resolved.problem.is_none())
        else {
            cx.warnings
                .push(format!("Channel {id} is not a channel mapping."));
            continue;
        };
        let address = channel.get("address").and_then(Value::as_str);
        let mine: Vec<usize> = by_channel
            .get(own_ref.as_str())
            .cloned()
            .unwrap_or_default();
        let actions: Vec<&str> = mine
            .iter()
            .filter_map(|&i| operations[i].1.get("action").and_then(Value::as_str))
            .collect();
        channel_open(cx, out, id, address.unwrap_or(id), &actions);
        if address.is_some_and(|a| a != *id) {
            out.raw("<p class=\"channel-id\">channel ");
            out.element("code", "", id);
            out.raw("</p>");
        }
        for key in ["title", "summary"] {
            if let Some(text) = channel.get(key).and_then(Value::as_str) {
                out.description("channel-summary", text);
            }
        }
        if let Some(description) = channel.get("description").and_then(Value::as_str) {
            out.description("channel-description", description);
        }
        parameters_table(cx, out, channel.get("parameters"), id);
        for &i in &mine {
            placed[i] = true;
            let (operation_id, operation, _) = operations[i];
            render_v3_operation(cx, out, operation_id, operation);
        }
        match channel.get("messages") {
            Some(Value::Object(messages)) if !messages.is_empty() => {
                out.raw("<h4 class=\"operation-section\">Messages</h4>");
                for (name, message) in messages {
                    let key = match message.get("$ref").and_then(Value::as_str) {
                        Some(reference) => reference.to_owned(),
                        None => format!("{own_ref}/messages/{name}"),
                    };
                    seen_messages.insert(key);
                    render_message(cx, out, message, Some(name), &format!("channel {id}"));
                }
            }
            Some(Value::Object(_)) | None => {}
            Some(other) => cx.warnings.push(format!(
                "Channel {id}: messages are {}, not a mapping.",
                describe_json_type(other)
            )),
        }
        out.raw("</div></details>");
    }
    if !channels.is_empty() {
        out.raw("</section>");
    }
    let unplaced: Vec<usize> = (0..operations.len()).filter(|&i| !placed[i]).collect();
    if !unplaced.is_empty() && !out.full() {
        out.raw("<section class=\"apidef-group\"><h3 class=\"apidef-group-title\">Operations without a known channel</h3>");
        for i in unplaced {
            let (operation_id, operation, channel) = operations[i];
            cx.warnings.push(match channel {
                Some(channel) => format!("Operation {operation_id} names channel {channel}, which is not in this document."),
                None => format!("Operation {operation_id} names no channel."),
            });
            render_v3_operation(cx, out, operation_id, operation);
        }
        out.raw("</section>");
    }
    summary.messages = seen_messages.len();
}

fn render_v3_operation(
    cx: &mut Context,
    out: &mut Html,
    operation_id: &str,
    operation: &Map<String, Value>,
) {
    let action = operation
        .get("action")
        .and_then(Value::as_str)
        .unwrap_or("operation");
    out.raw("<div class=\"channel-operation\" id=\"");
    out.text(&cx.ids.unique("op", operation_id));
    out.raw("\"><h4 class=\"operation-section\">");
    action_badge(out, action);
    out.raw(" ");
    out.element("code", "operation-id", operation_id);
    if let Some(title) = operation.get("title").and_then(Value::as_str) {
        out.raw(" ");
        out.element("span", "operation-summary", title);
    }
    out.raw("</h4>");
    if let Some(summary) = operation.get("summary").and_then(Value::as_str) {
        out.description("operation-summary", summary);
    }
    if let Some(description) = operation.get("description").and_then(Value::as_str) {
        out.description("operation-description", description);
    }
    if let Some(Value::Array(messages)) = operation.get("messages") {
        let names: Vec<String> = messages
            .iter()
            .filter_map(|m| m.get("$ref").and_then(Value::as_str))
            .map(ref_name)
            .collect();
        if !names.is_empty() {
            out.raw("<p class=\"operation-messages\">messages: ");
            for (i, name) in names.iter().enumerate() {
                if i > 0 {
                    out.raw(", ");
                }
                out.element("span", "message-name", name);
            }
            out.raw("</p>");
        }
    }
    if let Some(reply) = operation.get("reply").and_then(Value::as_object) {
        let channel = reply
            .get("channel")
            .and_then(|c| c.get("$ref"))
            .and_then(Value::as_str)
            .map(ref_name);
        out.raw("<p class=\"operation-reply\">replies");
        if let Some(channel) = channel {
            out.raw(" on ");
            out.element("code", "", &channel);
        }
        out.raw("</p>");
    }
    out.raw("</div>");
}
