//! API definitions rendered from real files: the demo catalogue's definitions and Backstage's
//! example APIs, read in place; then escaping, hostile input, size limits and highlighting
//! speed.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use expect_test::expect;
use paved_render::apidef::{
    DefinitionFormat, MAX_STRUCTURED_HTML_BYTES, RenderedDefinition, render_api_definition,
};
use paved_render::highlight::{Language, highlight};
use serde_json::Value;

fn manifest() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn read(path: PathBuf) -> String {
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn demo_spec(name: &str) -> String {
    read(manifest().join("../paved/demo/apis/specs").join(name))
}

fn compat_apis() -> PathBuf {
    let dir = manifest().join("../../../shared/compat/backstage-examples/apis");
    assert!(dir.is_dir(), "{} is missing", dir.display());
    dir
}

/// `spec.type` and the inline `spec.definition` of a Backstage example API entity.
fn compat_entity(name: &str) -> (String, String) {
    let text = read(compat_apis().join(name));
    let entity: Value = serde_saphyr::from_str(&text).expect("example entity is YAML");
    let spec = &entity["spec"];
    let ty = spec["type"].as_str().expect("spec.type").to_owned();
    let definition = spec["definition"]
        .as_str()
        .expect("inline definition")
        .to_owned();
    (ty, definition)
}

/// Renders and checks what must hold for any input: the markup is balanced and deterministic.
fn render(api_type: &str, definition: &str) -> RenderedDefinition {
    let rendered = render_api_definition(api_type, definition);
    assert_balanced(&rendered.html);
    for line in rendered.raw_html.split('\n') {
        assert_eq!(
            line.matches("<span").count(),
            line.matches("</span>").count(),
            "{line}"
        );
    }
    rendered
}

/// Every element the renderers open is closed; text is escaped, so `<` only starts a tag.
fn assert_balanced(html: &str) {
    for tag in [
        "details", "summary", "section", "header", "div", "ul", "ol", "li", "table", "thead",
        "tbody", "tr", "th", "td", "p", "span", "code", "a", "h2", "h3", "h4", "h5",
    ] {
        let opened =
            html.matches(&format!("<{tag}>")).count() + html.matches(&format!("<{tag} ")).count();
        let closed = html.matches(&format!("</{tag}>")).count();
        assert_eq!(
            opened, closed,
            "<{tag}> opened {opened} times, closed {closed} times"
        );
    }
    assert!(
        html.starts_with("<div class=\"apidef apidef-"),
        "{}",
        &html[..html.len().min(200)]
    );
}

/// The `<details>` block of one OpenAPI operation.
fn operation<'h>(html: &'h str, id: &str) -> &'h str {
    let start = html
        .find(&format!("<details class=\"operation\" id=\"{id}\""))
        .unwrap_or_else(|| panic!("no operation {id}"));
    let end = html[start..]
        .find("</details>")
        .map_or(html.len(), |e| start + e);
    &html[start..end]
}

fn param(name: &str) -> String {
    format!("<code class=\"param-name\">{name}</code>")
}

fn property(name: &str) -> String {
    format!("<span class=\"schema-name\">{name}</span>")
}

fn link(id: &str, name: &str) -> String {
    format!("<a class=\"schema-ref\" href=\"#{id}\">{name}</a>")
}

struct OpenApiCase {
    file: &'static str,
    operations: usize,
    schemas: usize,
    title: &'static str,
    version: &'static str,
    operation: &'static str,
    /// Strings that must all appear inside that operation's block: a parameter, a response
    /// schema property, and something only a resolved `$ref` can produce.
    inside: &'static [&'static str],
}

#[test]
fn demo_openapi_definitions() {
    let cases = [
        OpenApiCase {
            file: "product-catalog-api.yaml",
            operations: 7,
            schemas: 9,
            title: "Product Catalogue API",
            version: "2.4.0",
            operation: "op-getProduct",
            // productId is path-level, market comes through #/components/parameters, variants
            // comes from the second allOf part of Product and sku from Variant behind it.
            inside: &["productId", "market", "variants", "sku", "schema-Variant"],
        },
        OpenApiCase {
            file: "orders-api.yaml",
            operations: 6,
            schemas: 7,
            title: "Orders API",
            version: "4.2.0",
            operation: "op-getOrder",
            inside: &["orderId", "shipments", "trackingNumber", "schema-OrderLine"],
        },
        OpenApiCase {
            file: "cart-api.yaml",
            operations: 8,
            schemas: 6,
            title: "Cart API",
            version: "3.1.0",
            operation: "op-addLine",
            inside: &["cartId", "quantity", "unitPrice", "schema-Money"],
        },
        OpenApiCase {
            file: "checkout-api.yaml",
            operations: 5,
            schemas: 8,
            title: "Checkout API",
            version: "2.0.1",
            operation: "op-setShippingAddress",
            inside: &[
                "checkoutId",
                "postalCode",
                "deliveryOptions",
                "schema-DeliveryOption",
            ],
        },
        OpenApiCase {
            file: "search-api.yaml",
            operations: 4,
            schemas: 8,
            title: "Search API",
            version: "1.9.2",
            operation: "op-searchProducts",
            inside: &["pageSize", "market", "schema-SearchResult"],
        },
        OpenApiCase {
            file: "feature-flags-api.yaml",
            operations: 5,
            schemas: 5,
            title: "Feature Flags API",
            version: "1.5.0",
            operation: "op-evaluateFlags",
            inside: &["context", "sessionId", "reason", "schema-Evaluation"],
        },
        OpenApiCase {
            file: "customer-api.json",
            operations: 7,
            schemas: 5,
            title: "Customer API",
            version: "1.12.0",
            operation: "op-listAddresses",
            inside: &[
                "customerId",
                "postalCode",
                "isDefaultShipping",
                "schema-Address",
            ],
        },
    ];
    for case in cases {
        let text = demo_spec(case.file);
        let rendered = render("openapi", &text);
        let context = case.file;
        assert!(
            rendered.warnings.is_empty(),
            "{context}: {:?}",
            rendered.warnings
        );
        assert_eq!(
            rendered.summary.format,
            DefinitionFormat::OpenApi,
            "{context}"
        );
        assert_eq!(rendered.summary.operations, case.operations, "{context}");
        assert_eq!(rendered.summary.schemas, case.schemas, "{context}");
        assert_eq!(
            rendered.summary.title.as_deref(),
            Some(case.title),
            "{context}"
        );
        assert_eq!(
            rendered.summary.version.as_deref(),
            Some(case.version),
            "{context}"
        );
        let html = &rendered.html;
        assert_eq!(
            html.matches("<details class=\"operation\"").count(),
            case.operations,
            "{context}"
        );
        assert_eq!(
            html.matches("<details class=\"schema-definition\"").count(),
            case.schemas,
            "{context}"
        );
        let block = operation(html, case.operation);
        for needle in case.inside {
            assert!(
                block.contains(needle),
                "{context}: {} lacks {needle}",
                case.operation
            );
        }
        let raw_language = if case.file.ends_with(".json") {
            Language::Json
        } else {
            Language::Yaml
        };
        assert_eq!(rendered.raw_language, raw_language, "{context}");
        assert!(
            rendered.raw_html.contains("<span class=\"tok-key\">"),
            "{context}"
        );
        // Same input, same output.
        assert_eq!(
            render_api_definition("openapi", &text),
            rendered,
            "{context}"
        );
    }
}

#[test]
fn openapi_details_on_the_product_catalogue() {
    let rendered = render("openapi", &demo_spec("product-catalog-api.yaml"));
    let html = &rendered.html;
    // Tags in declared order, each a section.
    let products = html.find("id=\"tag-products\"").expect("products tag");
    let variants = html.find("id=\"tag-variants\"").expect("variants tag");
    let categories = html.find("id=\"tag-categories\"").expect("categories tag");
    assert!(products < variants && variants < categories);
    let list = operation(html, "op-listProducts");
    assert!(list.contains("<span class=\"method method-get\">GET</span>"));
    assert!(list.contains("<code class=\"operation-path\">/products</code>"));
    assert!(list.contains("<span class=\"operation-summary\">List products</span>"));
    // A parameter's enum values (through a $ref to the parameter and one to its schema).
    assert!(list.contains(&param("status")));
    assert!(list.contains(&link("schema-ProductStatus", "ProductStatus")));
    assert!(list.contains("<code class=\"schema-enum-value\">discontinued</code>"));
    assert!(list.contains("<span class=\"status status-4xx\">400</span> <span class=\"response-ref\">BadRequest</span>"));
    assert!(list.contains("security: <code>serviceToken</code>"));
    let get = operation(html, "op-getProduct");
    assert!(get.contains("<span class=\"path-param\">{productId}</span>"));
    // Path-level productId comes first, then the operation's own parameters.
    assert!(get.find(&param("productId")) < get.find(&param("market")));
    // The category tree is recursive: the second level names Category and stops.
    let tree = operation(html, "op-getCategoryTree");
    assert!(
        tree.contains("Category is recursive: not expanded again here."),
        "{tree}"
    );
    let create = operation(html, "op-createProduct");
    assert!(create.contains("Request body <span class=\"schema-required\">required</span>"));
    assert!(create.contains("security: <code>serviceToken</code> (catalog:write)"));
    assert!(create.contains("<code>application/problem+json</code>"));
    // The schemas section links back into itself.
    assert!(html.contains("<details class=\"schema-definition\" id=\"schema-Product\">"));
    let counts: Vec<String> = rendered
        .summary
        .counts()
        .iter()
        .map(|c| format!("{} {}", c.count, c.label))
        .collect();
    assert_eq!(counts, ["7 operations", "9 schemas"]);
}

#[test]
fn swagger_2_bookshop() {
    let text = read(manifest().join("tests/data/swagger-2.0-bookshop.yaml"));
    let rendered = render("openapi", &text);
    assert!(rendered.warnings.is_empty(), "{:?}", rendered.warnings);
    let summary = &rendered.summary;
    assert_eq!(summary.format, DefinitionFormat::Swagger);
    assert_eq!(summary.spec_version.as_deref(), Some("2.0"));
    assert_eq!((summary.operations, summary.schemas), (4, 4));
    let html = &rendered.html;
    assert!(html.contains("<code class=\"server-url\">https://books.example.com/api</code>"));
    assert!(html.contains("<code class=\"server-url\">http://books.example.com/api</code>"));
    let list = operation(html, "op-listBooks");
    // Inline Swagger 2 parameter types, and a parameter from #/parameters.
    assert!(list.contains(&param("genre")));
    assert!(list.contains("<span class=\"schema-type\">array of string</span>"));
    assert!(list.contains(&param("limit")));
    assert!(list.contains("<span class=\"schema-fact-label\">maximum</span> <code>100</code>"));
    // Responses: `produces` as media types, the schema from definitions, header types.
    assert!(list.contains("<code>application/json</code>, <code>application/xml</code>"));
    assert!(list.contains(&format!("array of {}", link("schema-Book", "Book"))));
    assert!(list.contains(&param("X-Total-Count")));
    // Book is allOf [NewBook, {addedAt}]: merged, with Author resolved below it.
    assert!(list.contains(&property("title")) && list.contains(&property("addedAt")));
    assert!(list.contains(&property("influencedBy")));
    assert!(list.contains("Author is recursive: not expanded again here."));
    let add = operation(html, "op-addBook");
    assert!(add.contains("Request body <span class=\"schema-required\">required</span>"));
    assert!(add.contains(&link("schema-NewBook", "NewBook")));
    assert!(add.contains("<code class=\"schema-enum-value\">paperback</code>"));
    assert!(
        !add.contains(&param("book")),
        "body parameters are not table rows"
    );
    assert!(add.contains("<span class=\"response-ref\">Invalid</span>"));
    assert!(add.contains(&property("message")));
    let cover = operation(html, "op-uploadCover");
    assert!(cover.contains(&param("isbn")) && cover.contains(&param("image")));
    assert!(cover.contains("<td class=\"param-in\">formData</td>"));
    assert!(cover.contains("<span class=\"schema-type\">file</span>"));
    assert!(cover.contains("<span class=\"schema-format\">uuid</span>"));
    let order = operation(html, "op-placeOrder");
    assert!(order.contains("<span class=\"deprecated\">deprecated</span>"));
    assert!(order.contains(&property("quantity")));
    assert!(order.contains("<span class=\"status status-default\">default</span>"));
}

#[test]
fn backstage_example_openapi_definitions() {
    // petstore (3.0, inline in the entity)
    let (ty, definition) = compat_entity("petstore-api.yaml");
    let rendered = render(&ty, &definition);
    assert!(rendered.warnings.is_empty(), "{:?}", rendered.warnings);
    assert_eq!(
        (rendered.summary.operations, rendered.summary.schemas),
        (3, 3)
    );
    let list = operation(&rendered.html, "op-listPets");
    assert!(list.contains(&param("limit")));
    // Pets is an array of Pet: named by its reference, shown with Pet's properties.
    assert!(list.contains(&link("schema-Pets", "Pets")), "{list}");
    assert!(list.contains(&property("tag")));
    assert!(list.contains("<span class=\"status status-default\">default</span>"));

    // petstore 3.1 with a webhook
    let (ty, definition) = compat_entity("petstore-31-api.yaml");
    let rendered = render(&ty, &definition);
    assert!(rendered.warnings.is_empty(), "{:?}", rendered.warnings);
    let summary = &rendered.summary;
    assert_eq!(
        (summary.operations, summary.webhooks, summary.schemas),
        (3, 1, 3)
    );
    assert_eq!(summary.spec_version.as_deref(), Some("3.1.0"));
    let webhook = operation(&rendered.html, "webhook-post-newPet");
    assert!(webhook.contains("<code class=\"operation-path\">newPet</code>"));
    assert!(webhook.contains(&property("name")));

    // The full petstore 3.1 document and the webhook example (files, not entities).
    let rendered = render("openapi", &read(compat_apis().join("petstore.oas.yaml")));
    assert!(rendered.warnings.is_empty(), "{:?}", rendered.warnings);
    assert_eq!(
        (rendered.summary.operations, rendered.summary.schemas),
        (19, 8)
    );
    let html = &rendered.html;
    for tag in ["tag-pet", "tag-store", "tag-user"] {
        assert!(html.contains(&format!("id=\"{tag}\"")), "{tag}");
    }
    let update = operation(html, "op-updatePet");
    assert!(update.contains("<code>application/x-www-form-urlencoded</code>"));
    assert!(update.contains(&link("schema-Category", "Category")));
    assert!(update.contains("petstore_auth"));
    let rendered = render(
        "openapi",
        &read(compat_apis().join("petstore-webhook.oas.yaml")),
    );
    assert!(rendered.warnings.is_empty(), "{:?}", rendered.warnings);
    assert_eq!(
        (rendered.summary.operations, rendered.summary.webhooks),
        (0, 1)
    );
}

#[test]
fn demo_asyncapi_definitions() {
    // AsyncAPI 3: channels with addresses, operations pointing at them, messages by $ref.
    let rendered = render("asyncapi", &demo_spec("inventory-events.yaml"));
    assert!(rendered.warnings.is_empty(), "{:?}", rendered.warnings);
    let summary = &rendered.summary;
    assert_eq!(summary.format, DefinitionFormat::AsyncApi);
    assert_eq!(summary.spec_version.as_deref(), Some("3.0.0"));
    assert_eq!(
        (
            summary.channels,
            summary.operations,
            summary.messages,
            summary.schemas
        ),
        (2, 3, 3, 3)
    );
    let html = &rendered.html;
    assert!(html.contains("<code class=\"channel-name\">inventory.stock.v2</code> <span class=\"action action-send\">send</span> <span class=\"action action-receive\">receive</span>"));
    assert!(html.contains("<div class=\"channel-operation\" id=\"op-publishReservationOutcome\">"));
    assert!(html.contains("messages: <span class=\"message-name\">StockReserved</span>, <span class=\"message-name\">ReservationFailed</span>"));
    // Payload StockLevel → warehouses: array of WarehouseStock, resolved to its enum.
    assert!(html.contains(&format!(
        "array of {}",
        link("schema-WarehouseStock", "WarehouseStock")
    )));
    assert!(html.contains("<code class=\"schema-enum-value\">DROPSHIP</code>"));
    // ReservationFailed is allOf [Reservation, {shortSkus}]: merged.
    assert!(html.contains(&property("shortSkus")) && html.contains(&property("reservationId")));
    assert!(html.contains("<code class=\"server-url\">b-1.msk-prod.northwind.example.com:9098</code> <span class=\"server-protocol\">kafka-secure</span>"));

    // AsyncAPI 2: publish/subscribe with oneOf messages, traits supplying headers.
    let rendered = render("asyncapi", &demo_spec("order-events.yaml"));
    assert!(rendered.warnings.is_empty(), "{:?}", rendered.warnings);
    let summary = &rendered.summary;
    assert_eq!(
        (
            summary.channels,
            summary.operations,
            summary.messages,
            summary.schemas
        ),
        (1, 2, 5, 7)
    );
    let html = &rendered.html;
    assert!(html.contains("<span class=\"action action-publish\">publish</span> <code class=\"operation-id\">publishOrderEvent</code>"));
    assert_eq!(
        html.matches("<details class=\"message\">").count(),
        10,
        "5 messages under each of 2 operations"
    );
    assert!(html.contains("<h5 class=\"message-part\">Headers</h5>"));
    assert!(
        html.contains(&property("ce_source")),
        "headers come from the CloudEvent trait"
    );
    assert!(html.contains(&property("orderNumber")));
    assert!(html.contains(&format!(
        "{} {}",
        property("total"),
        "<span class=\"schema-type\">"
    )));
    assert!(html.contains(&link("schema-Money", "Money")));
    assert!(html.contains("<code class=\"message-content-type\">application/json</code>"));

    let rendered = render("asyncapi", &demo_spec("product-events.yaml"));
    assert!(rendered.warnings.is_empty(), "{:?}", rendered.warnings);
    let summary = &rendered.summary;
    assert_eq!(
        (summary.channels, summary.operations, summary.messages),
        (1, 2, 3)
    );
    assert!(rendered.html.contains(&property("publishedAt")));
}

#[test]
fn backstage_streetlights_asyncapi() {
    let (ty, definition) = compat_entity("streetlights-api.yaml");
    let rendered = render(&ty, &definition);
    assert!(rendered.warnings.is_empty(), "{:?}", rendered.warnings);
    let summary = &rendered.summary;
    assert_eq!(summary.title.as_deref(), Some("Streetlights API"));
    assert_eq!(
        (
            summary.channels,
            summary.operations,
            summary.messages,
            summary.schemas
        ),
        (4, 4, 3, 4)
    );
    let html = &rendered.html;
    assert!(html.contains("<code class=\"channel-name\">smartylighting/streetlights/1/0/event/{streetlightId}/lighting/measured</code>"));
    // The channel parameter resolves through #/components/parameters.
    assert!(html.contains(&param("streetlightId")));
    assert!(html.contains("The ID of the streetlight."));
    // YAML 1.2: `on` and `off` stay strings.
    assert!(html.contains(
        "<code class=\"schema-enum-value\">on</code> <code class=\"schema-enum-value\">off</code>"
    ));
    assert!(html.contains(&property("lumens")) && html.contains(&property("sentAt")));
    assert!(
        html.contains(&property("my-app-header")),
        "headers from the commonHeaders trait"
    );
}

#[test]
fn graphql_definitions() {
    let rendered = render("graphql", &demo_spec("storefront.graphql"));
    assert!(rendered.warnings.is_empty(), "{:?}", rendered.warnings);
    assert_eq!(rendered.summary.format, DefinitionFormat::GraphQl);
    assert_eq!(
        (rendered.summary.types, rendered.summary.operations),
        (37, 17)
    );
    assert_eq!(rendered.raw_language, Language::GraphQl);
    let html = &rendered.html;
    assert!(html.contains("Storefront GraphQL API, served by the storefront BFF"));
    let query = html
        .find("id=\"type-Query\" open>")
        .expect("Query first, open");
    let mutation = html
        .find("id=\"type-Mutation\" open>")
        .expect("Mutation open");
    let objects = html
        .find("<h3 class=\"apidef-group-title\">Object types</h3>")
        .expect("objects");
    let interfaces_or_enums = html
        .find("<h3 class=\"apidef-group-title\">Enums</h3>")
        .expect("enums");
    let inputs = html
        .find("<h3 class=\"apidef-group-title\">Input types</h3>")
        .expect("inputs");
    let scalars = html
        .find("<h3 class=\"apidef-group-title\">Scalars</h3>")
        .expect("scalars");
    assert!(query < mutation && mutation < objects && objects < interfaces_or_enums);
    assert!(interfaces_or_enums < inputs && inputs < scalars);
    assert!(html.contains("<code class=\"gql-field-name\">search</code><span class=\"gql-args\">(<span class=\"gql-arg\"><span class=\"gql-arg-name\">query</span>: <span class=\"gql-type-ref\">String!</span></span>, <span class=\"gql-arg\"><span class=\"gql-arg-name\">filters</span>: <span class=\"gql-type-ref\">[<a href=\"#type-FacetFilter\">FacetFilter</a>!]</span></span>"));
    assert!(html.contains("<span class=\"gql-arg-name\">sort</span>: <span class=\"gql-type-ref\"><a href=\"#type-ProductSort\">ProductSort</a></span> = <code class=\"gql-default\">RELEVANCE</code>"));
    assert!(html.contains(
        "<p>Crossed-out price; the lowest price of the last 30 days (EU Omnibus directive).</p>"
    ));
    assert!(html.contains("<code class=\"gql-directive\">@cacheControl(maxAge: 300)</code>"));
    assert!(html.contains("<code class=\"gql-directive\">@cacheControl</code>"));

    let rendered = render("graphql", &demo_spec("analytics.graphql"));
    assert!(rendered.warnings.is_empty(), "{:?}", rendered.warnings);
    assert_eq!(
        (rendered.summary.types, rendered.summary.operations),
        (12, 6)
    );

    let (ty, definition) = compat_entity("swapi-graphql.yaml");
    let rendered = render(&ty, &definition);
    assert!(rendered.warnings.is_empty(), "{:?}", rendered.warnings);
    let html = &rendered.html;
    // `schema { query: Root }`: Root is the query type and comes first.
    let root = html
        .find("id=\"type-Root\" open>")
        .expect("Root is the query type");
    assert!(root < html.find("id=\"type-Film\"").expect("Film"));
    assert_eq!(
        rendered.summary.operations,
        definition_root_fields(&definition, "Root")
    );
    assert!(html.contains("<span class=\"gql-implements\">implements <span class=\"gql-type-ref\"><a href=\"#type-Node\">Node</a></span></span>"));
    assert!(html.contains("<p>The opening paragraphs at the beginning of this film.</p>"));
    assert!(html.contains("<details class=\"gql-type gql-type-interface\" id=\"type-Node\">"));
}

/// Fields of `type_name` counted by a plain line scan, as an independent check.
fn definition_root_fields(sdl: &str, type_name: &str) -> usize {
    let start = sdl
        .find(&format!("type {type_name} {{"))
        .expect("root type");
    let body = &sdl[start..start + sdl[start..].find("\n}").expect("end")];
    body.lines()
        .skip(1)
        .map(str::trim)
        .filter(|line| {
            !line.is_empty()
                && !line.starts_with('"')
                && !line.starts_with('#')
                && line.contains(':')
        })
        .filter(|line| line.chars().next().is_some_and(|c| c.is_ascii_alphabetic()))
        .count()
}

#[test]
fn grpc_definitions() {
    let cases = [
        ("payments.proto", 7, 12, 4, "Authorise", "AuthoriseRequest"),
        (
            "pricing.proto",
            4,
            14,
            1,
            "WatchPriceChanges",
            "WatchPriceChangesRequest",
        ),
        (
            "shipping.proto",
            4,
            12,
            2,
            "CreateLabel",
            "CreateLabelRequest",
        ),
    ];
    for (file, rpcs, messages, enums, rpc, request) in cases {
        let rendered = render("grpc", &demo_spec(file));
        assert!(
            rendered.warnings.is_empty(),
            "{file}: {:?}",
            rendered.warnings
        );
        let summary = &rendered.summary;
        assert_eq!(summary.format, DefinitionFormat::Protobuf);
        assert_eq!(summary.spec_version.as_deref(), Some("proto3"));
        assert_eq!(
            (
                summary.services,
                summary.operations,
                summary.messages,
                summary.enums
            ),
            (1, rpcs, messages, enums),
            "{file}"
        );
        assert!(rendered.html.contains(&format!(
            "<code class=\"proto-rpc-name\">{rpc}</code>(<a class=\"proto-type-ref\" href=\"#message-{request}\">{request}</a>)"
        )), "{file}");
        assert_eq!(rendered.raw_language, Language::Protobuf);
    }
    let html = render("grpc", &demo_spec("pricing.proto")).html;
    assert!(html.contains("returns</span> (<span class=\"proto-stream\">stream</span> <a class=\"proto-type-ref\" href=\"#message-PriceChange\">PriceChange</a>)"));
    assert!(html.contains(
        "<p>Streams price changes of a market, for caches that must never serve stale prices.</p>"
    ));
    // Trailing comments describe their field; imported types stay unlinked.
    assert!(html.contains(
        "<p>ISO 4217, e.g. &quot;EUR&quot;, &quot;SEK&quot;, &quot;PLN&quot;, &quot;GBP&quot;</p>"
    ));
    assert!(html.contains("<span class=\"proto-type-ref\">google.protobuf.Timestamp</span>"));
    assert!(html.contains("<span class=\"proto-label\">repeated</span> <a class=\"proto-type-ref\" href=\"#message-TierPrice\">TierPrice</a>"));
    let html = render("grpc", &demo_spec("payments.proto")).html;
    // Nested enums get their own entries and links from the enclosing message's fields.
    assert!(html.contains("<details class=\"proto-enum\" id=\"enum-PaymentAction.Type\">"));
    assert!(
        html.contains("<a class=\"proto-type-ref\" href=\"#enum-PaymentAction.Type\">Type</a>")
    );
    assert!(html.contains("map&lt;<span class=\"proto-type-ref\">string</span>, <span class=\"proto-type-ref\">string</span>&gt;"));

    let (ty, definition) = compat_entity("hello-world-api.yaml");
    let rendered = render(&ty, &definition);
    assert!(rendered.warnings.is_empty(), "{:?}", rendered.warnings);
    assert_eq!(
        (rendered.summary.services, rendered.summary.operations),
        (1, 1)
    );
    assert!(
        rendered
            .html
            .contains("<p>The greeting service definition.</p>")
    );
    assert!(
        rendered
            .html
            .contains("<span class=\"proto-package\">package <code>helloworld</code></span>")
    );
}

#[test]
fn other_types_get_the_raw_view_with_a_note() {
    let (ty, definition) = compat_entity("hello-world-trpc-api.yaml");
    assert_eq!(ty, "trpc");
    let rendered = render(&ty, &definition);
    assert_eq!(rendered.summary.format, DefinitionFormat::Other);
    assert!(rendered.summary.counts().is_empty());
    assert_eq!(rendered.raw_language, Language::Plain);
    assert!(
        rendered
            .html
            .contains("paved has no structured view for APIs of type <code>trpc</code>")
    );
    assert!(rendered.raw_html.contains("publicProcedure"));
    assert!(rendered.warnings.is_empty());
    // An unknown type holding YAML is still highlighted as YAML.
    let rendered = render(
        "jsonschema",
        "type: object\nproperties:\n  a: {type: string}\n",
    );
    assert_eq!(rendered.raw_language, Language::Yaml);
    assert!(
        rendered
            .raw_html
            .contains("<span class=\"tok-key\">properties</span>")
    );
}

#[test]
fn small_openapi_snapshot() {
    let definition = r#"
openapi: 3.0.3
info: {title: Tiny, version: "1"}
paths:
  /items/{id}:
    parameters:
      - {name: id, in: path, required: true, schema: {type: integer, format: int64}}
    put:
      operationId: putItem
      summary: Replace an item
      tags: [items]
      requestBody:
        content:
          application/json:
            schema: {$ref: '#/components/schemas/Item'}
      responses:
        '204': {description: Replaced.}
components:
  schemas:
    Item:
      type: object
      required: [name]
      properties:
        name: {type: string, description: "Shown\nto users."}
        parent: {$ref: '#/components/schemas/Item'}
"#;
    let rendered = render("openapi", definition);
    assert!(rendered.warnings.is_empty(), "{:?}", rendered.warnings);
    let pretty = rendered
        .html
        .replace("<details", "\n<details")
        .replace("<section", "\n<section")
        .replace("<li", "\n<li")
        .replace("<tr", "\n<tr");
    expect![[r##"
        <div class="apidef apidef-openapi"><header class="apidef-header"><h2 class="apidef-title">Tiny</h2><p class="apidef-meta"><span class="apidef-version">version 1</span> <span class="apidef-spec">OpenAPI 3.0.3</span></p></header>
        <section class="apidef-group" id="tag-items"><h3 class="apidef-group-title">items</h3>
        <details class="operation" id="op-putItem"><summary><span class="method method-put">PUT</span> <code class="operation-path">/items/<span class="path-param">{id}</span></code> <span class="operation-summary">Replace an item</span></summary><div class="operation-body"><p class="operation-meta"><span class="operation-id">operationId <code>putItem</code></span></p><h4 class="operation-section">Parameters</h4><table class="params"><thead>
        <tr><th>Name</th><th>In</th><th>Type</th><th>Required</th><th>Description</th></tr></thead><tbody>
        <tr><td><code class="param-name">id</code></td><td class="param-in">path</td><td><span class="schema-type">integer</span> <span class="schema-format">int64</span></td><td><span class="schema-required">required</span></td><td></td></tr></tbody></table>
        <section class="request-body"><h4 class="operation-section">Request body</h4><div class="media-type"><h5 class="media-type-name"><code>application/json</code></h5><div class="schema"><ul class="schema-tree">
        <li class="schema-node"><div class="schema-line"><span class="schema-type"><a class="schema-ref" href="#schema-Item">Item</a></span></div><ul class="schema-children">
        <li class="schema-node"><div class="schema-line"><span class="schema-name">name</span> <span class="schema-type">string</span> <span class="schema-required">required</span></div><div class="schema-description"><p>Shown<br>to users.</p></div></li>
        <li class="schema-node"><div class="schema-line"><span class="schema-name">parent</span> <span class="schema-type"><a class="schema-ref" href="#schema-Item">Item</a></span></div><ul class="schema-children">
        <li class="schema-note">Item is recursive: not expanded again here.</li></ul></li></ul></li></ul></div></div></section>
        <section class="responses"><h4 class="operation-section">Responses</h4><div class="response"><h5 class="response-status"><span class="status status-2xx">204</span></h5><div class="response-description"><p>Replaced.</p></div></div></section></div></details></section>
        <section class="apidef-schemas"><h3 class="apidef-group-title">Schemas</h3>
        <details class="schema-definition" id="schema-Item"><summary><code class="schema-title">Item</code> <span class="schema-type">object</span></summary><div class="schema"><ul class="schema-tree">
        <li class="schema-node"><div class="schema-line"><span class="schema-type">object</span></div><ul class="schema-children">
        <li class="schema-node"><div class="schema-line"><span class="schema-name">name</span> <span class="schema-type">string</span> <span class="schema-required">required</span></div><div class="schema-description"><p>Shown<br>to users.</p></div></li>
        <li class="schema-node"><div class="schema-line"><span class="schema-name">parent</span> <span class="schema-type"><a class="schema-ref" href="#schema-Item">Item</a></span></div><ul class="schema-children">
        <li class="schema-note">Item is recursive: not expanded again here.</li></ul></li></ul></li></ul></div></details></section></div>"##]].assert_eq(&pretty);
}

#[test]
fn small_asyncapi_3_snapshot() {
    let definition = r#"
asyncapi: 3.0.0
info: {title: Tiny events, version: 0.1.0}
channels:
  user:
    address: users.{userId}
    parameters:
      userId: {description: The user.}
    messages:
      signedUp: {$ref: '#/components/messages/SignedUp'}
operations:
  onSignUp:
    action: receive
    channel: {$ref: '#/channels/user'}
    messages: [{$ref: '#/channels/user/messages/signedUp'}]
  orphan:
    action: send
    channel: {$ref: '#/channels/gone'}
components:
  messages:
    SignedUp:
      contentType: application/json
      payload:
        type: object
        properties:
          email: {type: string, format: email}
"#;
    let rendered = render("asyncapi", definition);
    assert_eq!(
        rendered.warnings,
        ["Operation orphan names channel #/channels/gone, which is not in this document."]
    );
    let pretty = rendered
        .html
        .replace("<details", "\n<details")
        .replace("<section", "\n<section")
        .replace("<li", "\n<li")
        .replace(
            "<div class=\"channel-operation\"",
            "\n<div class=\"channel-operation\"",
        );
    expect![[r#"
        <div class="apidef apidef-asyncapi"><header class="apidef-header"><h2 class="apidef-title">Tiny events</h2><p class="apidef-meta"><span class="apidef-version">version 0.1.0</span> <span class="apidef-spec">AsyncAPI 3.0.0</span></p></header>
        <section class="apidef-group apidef-channels"><h3 class="apidef-group-title">Channels</h3>
        <details class="channel" id="channel-user"><summary><code class="channel-name">users.{userId}</code> <span class="action action-receive">receive</span></summary><div class="channel-body"><p class="channel-id">channel <code>user</code></p><h4 class="operation-section">Parameters</h4><table class="params"><thead><tr><th>Name</th><th>Type</th><th>Description</th></tr></thead><tbody><tr><td><code class="param-name">userId</code></td><td><span class="schema-type">string</span></td><td><div class="param-description"><p>The user.</p></div></td></tr></tbody></table>
        <div class="channel-operation" id="op-onSignUp"><h4 class="operation-section"><span class="action action-receive">receive</span> <code class="operation-id">onSignUp</code></h4><p class="operation-messages">messages: <span class="message-name">signedUp</span></p></div><h4 class="operation-section">Messages</h4>
        <details class="message"><summary><span class="message-name">signedUp</span> <code class="message-content-type">application/json</code></summary><div class="message-body"><h5 class="message-part">Payload</h5><div class="schema"><ul class="schema-tree">
        <li class="schema-node"><div class="schema-line"><span class="schema-type">object</span></div><ul class="schema-children">
        <li class="schema-node"><div class="schema-line"><span class="schema-name">email</span> <span class="schema-type">string</span> <span class="schema-format">email</span></div></li></ul></li></ul></div></div></details></div></details></section>
        <section class="apidef-group"><h3 class="apidef-group-title">Operations without a known channel</h3>
        <div class="channel-operation" id="op-orphan"><h4 class="operation-section"><span class="action action-send">send</span> <code class="operation-id">orphan</code></h4></div></section></div>"#]].assert_eq(&pretty);
}

#[test]
fn small_proto_snapshot() {
    let definition = "syntax = \"proto3\";\npackage demo.v1;\n// Says hello.\nservice Greeter {\n  rpc Hello (HelloRequest) returns (stream HelloReply);\n}\nmessage HelloRequest {\n  string name = 1; // who\n  oneof pick { int32 a = 2; }\n}\nmessage HelloReply { string text = 1 [deprecated = true]; }\n";
    let rendered = render("grpc", definition);
    assert!(rendered.warnings.is_empty(), "{:?}", rendered.warnings);
    let pretty = rendered
        .html
        .replace("<details", "\n<details")
        .replace("<section", "\n<section")
        .replace("<li", "\n<li")
        .replace("<tr", "\n<tr");
    expect![[r##"
        <div class="apidef apidef-grpc"><header class="apidef-header"><p class="apidef-meta"><span class="apidef-spec">Protocol Buffers proto3</span> <span class="proto-package">package <code>demo.v1</code></span></p></header>
        <section class="apidef-group proto-services"><h3 class="apidef-group-title">Services</h3>
        <section class="proto-service" id="service-Greeter"><h4 class="proto-service-name"><span class="proto-kind">service</span> <code>Greeter</code></h4><div class="proto-description"><p>Says hello.</p></div><ul class="proto-rpcs">
        <li class="proto-rpc" id="rpc-Greeter.Hello"><div class="proto-rpc-line"><code class="proto-rpc-name">Hello</code>(<a class="proto-type-ref" href="#message-HelloRequest">HelloRequest</a>) <span class="proto-returns">returns</span> (<span class="proto-stream">stream</span> <a class="proto-type-ref" href="#message-HelloReply">HelloReply</a>)</div></li></ul></section></section>
        <section class="apidef-group proto-messages"><h3 class="apidef-group-title">Messages</h3>
        <details class="proto-message" id="message-HelloRequest"><summary><span class="proto-kind">message</span> <code class="proto-message-name">HelloRequest</code> <span class="proto-count">2 fields</span></summary><table class="params proto-fields"><thead>
        <tr><th>Number</th><th>Field</th><th>Type</th><th>Description</th></tr></thead><tbody>
        <tr><td class="proto-field-number">1</td><td><code class="param-name">name</code></td><td><span class="proto-type-ref">string</span></td><td><div class="proto-description"><p>who</p></div></td></tr>
        <tr><td class="proto-field-number">2</td><td><code class="param-name">a</code> <span class="proto-oneof">oneof pick</span></td><td><span class="proto-type-ref">int32</span></td><td></td></tr></tbody></table></details>
        <details class="proto-message" id="message-HelloReply"><summary><span class="proto-kind">message</span> <code class="proto-message-name">HelloReply</code> <span class="proto-count">1 field</span></summary><table class="params proto-fields"><thead>
        <tr><th>Number</th><th>Field</th><th>Type</th><th>Description</th></tr></thead><tbody>
        <tr><td class="proto-field-number">1</td><td><code class="param-name">text</code></td><td><span class="proto-type-ref">string</span></td><td><span class="deprecated">deprecated</span> <code class="proto-options">[deprecated = true]</code></td></tr></tbody></table></details></section></div>"##]].assert_eq(&pretty);
}

const HOSTILE: &str = "<script>alert(\"x\")</script> & 'q'";

#[test]
fn everything_taken_from_a_definition_is_escaped() {
    let h = serde_json::to_string(HOSTILE).expect("json string");
    // The same text inside a JSON string (for references).
    let inner = &h[1..h.len() - 1];
    let openapi = format!(
        r##"{{"openapi": "3.0.0",
  "info": {{"title": {h}, "version": {h}, "description": {h}}},
  "servers": [{{"url": {h}, "description": {h}}}],
  "tags": [{{"name": {h}, "description": {h}}}],
  "security": [{{{h}: [{h}]}}],
  "paths": {{
    "/x/{{<script>}}": {{
      "get": {{
        "operationId": {h}, "summary": {h}, "description": {h}, "tags": [{h}],
        "parameters": [{{"name": {h}, "in": {h}, "description": {h},
                        "schema": {{"type": {h}, "format": {h}, "enum": [{h}, 1], "default": {h}}}}}],
        "requestBody": {{"description": {h}, "content": {{{h}: {{"schema": {{"$ref": "#/components/schemas/{inner}"}}}}}}}},
        "responses": {{{h}: {{"description": {h},
                              "headers": {{{h}: {{"description": {h}, "schema": {{"type": "string"}}}}}},
                              "content": {{"application/json": {{"schema": {{"$ref": "other.yaml#/{inner}"}}}}}}}}}}
      }}
    }}
  }},
  "components": {{"schemas": {{{h}: {{"type": "object", "required": [{h}],
      "properties": {{{h}: {{"type": "string", "description": {h}, "enum": [{h}], "pattern": {h}}}}}}}}}}}
}}"##
    );
    let asyncapi = format!(
        r##"{{"asyncapi": "2.6.0", "info": {{"title": {h}, "version": {h}}}, "defaultContentType": {h},
  "servers": {{{h}: {{"url": {h}, "protocol": {h}, "description": {h}}}}},
  "channels": {{{h}: {{"description": {h}, "parameters": {{{h}: {{"description": {h}, "schema": {{"type": "string", "enum": [{h}]}}}}}},
    "subscribe": {{"operationId": {h}, "summary": {h}, "message": {{"name": {h}, "title": {h}, "summary": {h},
      "contentType": {h}, "payload": {{"type": "object", "properties": {{{h}: {{"type": "string"}}}}}}}}}}}}}}
}}"##
    );
    let asyncapi3 = format!(
        r##"{{"asyncapi": "3.0.0", "info": {{"title": {h}, "version": "1"}},
  "channels": {{"c": {{"address": {h}, "title": {h}, "messages": {{"m": {{"name": {h}, "payload": {{"schemaFormat": {h}, "schema": {{}}}}}}}}}}}},
  "operations": {{"o": {{"action": {h}, "title": {h}, "channel": {{"$ref": "#/channels/c"}}, "reply": {{"channel": {{"$ref": {h}}}}}}}}}
}}"##
    );
    let graphql = "\"\"\"<script>alert(\"x\")</script> & 'q'\"\"\"\ntype Query {\n  \"<b>field</b>\"\n  a(arg: String = \"<script>\"): String @tag(name: \"<img src=x onerror=alert(1)>\")\n}\nenum E { \"<i>v</i>\" V }\n";
    let proto = "// <script>alert(\"x\")</script> & 'q'\nsyntax = \"<script>\";\npackage a;\nimport \"<script>.proto\";\nservice S { // <svg onload=alert(1)>\n rpc M (A) returns (B); }\nmessage A { string s = 1 [(x) = \"<script>\"]; // <b>\n}\n";
    for (api_type, definition) in [
        ("openapi", openapi.as_str()),
        ("asyncapi", asyncapi.as_str()),
        ("asyncapi", asyncapi3.as_str()),
        ("graphql", graphql),
        ("grpc", proto),
        ("<script>", HOSTILE),
        ("openapi", HOSTILE),
    ] {
        let rendered = render(api_type, definition);
        for (what, html) in [("html", &rendered.html), ("raw_html", &rendered.raw_html)] {
            assert!(!html.contains("<script"), "{api_type} {what}: {html}");
            assert!(
                !html.contains("<b>")
                    && !html.contains("<i>")
                    && !html.contains("<img")
                    && !html.contains("<svg")
            );
        }
        for warning in &rendered.warnings {
            // Warnings are plain text for the caller to escape; they must not be truncated
            // mid-character or carry markup of their own making.
            assert!(!warning.is_empty());
        }
        let escaped_somewhere =
            rendered.html.contains("&lt;") || rendered.raw_html.contains("&lt;");
        assert!(escaped_somewhere, "{api_type}");
    }
    // Spot checks of where hostile text lands, escaped.
    let rendered = render("openapi", &openapi);
    assert!(rendered.warnings.is_empty(), "{:?}", rendered.warnings);
    let html = rendered.html;
    let escaped = "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;q&#39;";
    assert!(html.contains(&format!("<h2 class=\"apidef-title\">{escaped}</h2>")));
    assert!(html.contains(&format!(
        "<code class=\"schema-enum-value\">{escaped}</code>"
    )));
    assert!(html.contains(&format!("<code class=\"param-name\">{escaped}</code>")));
    assert!(html.contains("<span class=\"path-param\">{&lt;script&gt;}</span>"));
    assert!(html.contains(&format!("title=\"other.yaml#/{escaped}\"")));
    // Ids built from hostile names are slugs.
    assert!(html.contains("id=\"op-script-alert-x-script-q\""), "{html}");
}

/// A tiny linear congruential generator, so the mutations are the same on every run.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

const SPLICES: &[&str] = &[
    "{",
    "}",
    "[",
    "]",
    ":",
    "\n",
    "\n  ",
    "\"",
    "'",
    "$ref: '#/components/schemas/Money'\n",
    "#",
    "&a ",
    "*a ",
    "- ",
    "paths: 3\n",
    "parameters: \"x\"\n",
    "\u{1f600}",
    "\t",
    "\"\"\"",
    "//",
    "/*",
    "(",
    ")",
    ";",
    "message ",
    "@",
    "!",
    "|",
    ">",
    "~",
    "\\",
];

fn mutate(source: &str, rng: &mut Lcg) -> String {
    let mut bytes = source.as_bytes().to_vec();
    for _ in 0..1 + rng.below(6) {
        let at = rng.below(bytes.len() + 1);
        match rng.below(4) {
            0 if !bytes.is_empty() => {
                let len = rng.below(40).min(bytes.len() - at.min(bytes.len()));
                bytes.drain(at.min(bytes.len())..at.min(bytes.len()) + len);
            }
            1 => {
                let splice = SPLICES[rng.below(SPLICES.len())];
                bytes.splice(at..at, splice.bytes());
            }
            2 if !bytes.is_empty() => {
                // Duplicate a span (repeated keys, repeated blocks).
                let start = rng.below(bytes.len());
                let end = (start + rng.below(200)).min(bytes.len());
                let copy = bytes[start..end].to_vec();
                bytes.splice(at..at, copy);
            }
            _ => {
                bytes.truncate(at);
            }
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

#[test]
fn mutated_fixtures_never_panic_and_stay_well_formed() {
    let fixtures: Vec<(&str, String)> = vec![
        ("openapi", demo_spec("product-catalog-api.yaml")),
        ("openapi", demo_spec("customer-api.json")),
        (
            "openapi",
            read(manifest().join("tests/data/swagger-2.0-bookshop.yaml")),
        ),
        ("asyncapi", demo_spec("order-events.yaml")),
        ("asyncapi", demo_spec("inventory-events.yaml")),
        ("graphql", demo_spec("storefront.graphql")),
        ("grpc", demo_spec("payments.proto")),
    ];
    let mut rng = Lcg(0x5eed);
    for (api_type, source) in &fixtures {
        for _ in 0..60 {
            let mutated = mutate(source, &mut rng);
            // Render under the fixture's own type and under a wrong one.
            let _ = render(api_type, &mutated);
            let other = ["openapi", "asyncapi", "graphql", "grpc", "x"][rng.below(5)];
            let _ = render(other, &mutated);
        }
        // Truncated at every 97th byte boundary: half-written documents.
        let mut cut = 0;
        while cut < source.len() {
            if source.is_char_boundary(cut) {
                let _ = render(api_type, &source[..cut]);
            }
            cut += 97;
        }
    }
}

#[test]
fn random_bytes_and_wrong_types_never_panic() {
    let mut rng = Lcg(42);
    for _ in 0..200 {
        let len = rng.below(600);
        let bytes: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        let text = String::from_utf8_lossy(&bytes);
        for api_type in ["openapi", "asyncapi", "graphql", "grpc", "other"] {
            let _ = render(api_type, &text);
        }
    }
    let wrong_types = [
        "openapi: 3.0.0\npaths: 3\n",
        "openapi: 3.0.0\ninfo: 5\npaths:\n  /a: x\n  /b:\n    get: 7\n  /c:\n    parameters: \"x\"\n    post:\n      parameters: \"x\"\n      requestBody: 7\n      responses: []\n",
        "openapi: 3.0.0\npaths:\n  /a:\n    get:\n      parameters: [1, null, {$ref: 3}, {$ref: '#/nowhere'}, {$ref: 'x.yaml'}]\n      requestBody: {content: 'x'}\n      responses: {'200': {content: {a/b: {schema: 5}}}, '201': 'x', '202': {$ref: '#/paths'}}\n",
        "openapi: 3.0.0\ncomponents: {schemas: 3}\nwebhooks: []\ntags: 5\nsecurity: x\nservers: {a: 1}\n",
        "swagger: 2.0\ndefinitions: []\nhost: 5\nschemes: x\npaths: {/a: {get: {parameters: [{in: body, schema: 3}], responses: {'200': {schema: [1]}}}}}\n",
        "asyncapi: 2.6.0\nchannels: []\n",
        "asyncapi: 2.6.0\nchannels:\n  a: 3\n  b: {publish: 3, subscribe: {message: 5}, parameters: [1]}\n  c: {subscribe: {message: {oneOf: 7}}}\n  d: {publish: {message: {oneOf: [1, {$ref: '#/x'}, {payload: 3, headers: [], traits: 5}]}}}\n",
        "asyncapi: 3.0.0\nchannels: {a: {messages: 3, parameters: 4}, b: 5}\noperations: {x: 3, y: {channel: 3}, z: {channel: {$ref: 5}, messages: 7, reply: 3}}\n",
        "asyncapi: 3.0.0\noperations: []\ncomponents: {schemas: {a: {allOf: 3, oneOf: {}, properties: [], required: 5, items: 3, type: [1, 2]}}}\n",
        "[1, 2, 3]\n",
        "\"just a string\"\n",
        "~\n",
        "{\"openapi\": 3.1, \"paths\": {\"/a\": {\"get\": {\"responses\": {\"200\": {\"description\": 5}}}}}}",
        "{\"openapi\": ",
    ];
    for definition in wrong_types {
        for api_type in ["openapi", "asyncapi"] {
            let rendered = render(api_type, definition);
            assert!(
                !rendered.warnings.is_empty(),
                "{api_type} {definition:?} gave no warning"
            );
        }
    }
}

#[test]
fn deep_and_huge_documents_are_capped_and_reported() {
    // Deeper than the YAML reader's depth budget: a warning, no stack overflow.
    let mut deep = String::from("openapi: 3.0.0\nx: ");
    deep.push_str(&"[".repeat(5000));
    let rendered = render("openapi", &deep);
    assert!(
        rendered
            .warnings
            .iter()
            .any(|w| w.contains("not valid YAML")),
        "{:?}",
        rendered.warnings
    );
    let deep_json = format!("{{\"openapi\": \"3.0.0\", \"x\": {}}}", "[".repeat(5000));
    let rendered = render("openapi", &deep_json);
    assert!(
        rendered
            .warnings
            .iter()
            .any(|w| w.contains("not valid JSON")),
        "{:?}",
        rendered.warnings
    );

    // A schema nested 40 levels (within the readers' budgets) is shown 8 levels deep.
    let mut schema = String::from("{\"type\": \"string\"}");
    for level in 0..40 {
        schema =
            format!("{{\"type\": \"object\", \"properties\": {{\"level{level}\": {schema}}}}}");
    }
    let nested = format!(
        "{{\"openapi\": \"3.0.0\", \"paths\": {{\"/a\": {{\"get\": {{\"responses\": {{\"200\": {{\"content\": {{\"application/json\": {{\"schema\": {schema}}}}}}}}}}}}}}}}}"
    );
    let rendered = render("openapi", &nested);
    assert!(
        rendered
            .warnings
            .iter()
            .any(|w| w.contains("nest deeper than shown")),
        "{:?}",
        rendered.warnings
    );
    assert!(
        rendered.html.contains("level32") && !rendered.html.contains("level31"),
        "{}",
        rendered.html
    );

    // An alias bomb is refused by the YAML budget instead of expanding.
    let mut bomb = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..12 {
        let prev = i - 1;
        bomb.push_str(&format!("a{i}: &a{i} [*a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}]\n"));
    }
    let started = Instant::now();
    let rendered = render("openapi", &format!("openapi: 3.0.0\n{bomb}"));
    assert!(started.elapsed() < Duration::from_secs(10));
    assert!(
        rendered
            .warnings
            .iter()
            .any(|w| w.contains("not valid YAML")),
        "{:?}",
        rendered.warnings
    );

    // About 1 MB of realistic OpenAPI: every operation is shown, the page stays bounded.
    let spec = realistic_openapi(1_000_000);
    let started = Instant::now();
    let rendered = render("openapi", &spec);
    let elapsed = started.elapsed();
    let operations = rendered
        .html
        .matches("<details class=\"operation\"")
        .count();
    eprintln!(
        "1 MB OpenAPI: {} bytes in, {operations} operations shown of {}, html {} bytes, raw {} bytes, {elapsed:?}, warnings {:?}",
        spec.len(),
        rendered.summary.operations,
        rendered.html.len(),
        rendered.raw_html.len(),
        rendered.warnings
    );
    assert_eq!(operations, rendered.summary.operations);
    assert!(rendered.summary.operations > 300);
    assert!(rendered.html.len() <= MAX_STRUCTURED_HTML_BYTES + 64 * 1024);
    assert!(rendered.html.len() + rendered.raw_html.len() < 20 * spec.len());
    assert!(
        !rendered.warnings.is_empty(),
        "the reduced trees are reported"
    );
    assert!(elapsed < Duration::from_secs(30), "{elapsed:?}");

    // Past a mebibyte the raw view is escaped text without highlighting, so a big definition
    // does not become a page five times its size.
    let spec = "key: value\n".repeat(150_000);
    let rendered = render("jsonschema", &spec);
    assert_eq!(rendered.raw_language, Language::Plain);
    assert!(rendered.raw_html.len() < spec.len() * 11 / 10);
    assert!(
        rendered
            .warnings
            .iter()
            .any(|w| w.contains("not highlighted")),
        "{:?}",
        rendered.warnings
    );
    assert!(rendered.html.len() <= MAX_STRUCTURED_HTML_BYTES + 64 * 1024);

    // 1 MB of thousands of tiny operations: schemas by name only, then the page cap.
    let spec = tiny_operations_openapi(1_000_000);
    let rendered = render("openapi", &spec);
    let operations = rendered
        .html
        .matches("<details class=\"operation\"")
        .count();
    eprintln!(
        "1 MB of tiny operations: {operations} shown of {}, html {} bytes, warnings {:?}",
        rendered.summary.operations,
        rendered.html.len(),
        rendered.warnings
    );
    assert!(rendered.summary.operations > 2000);
    assert!(rendered.html.len() <= MAX_STRUCTURED_HTML_BYTES + 64 * 1024);
    assert!(rendered.html.len() + rendered.raw_html.len() < 20 * spec.len());
    assert!(
        rendered
            .warnings
            .iter()
            .any(|w| w.contains("shown by name only")),
        "{:?}",
        rendered.warnings
    );
    if operations < rendered.summary.operations {
        assert!(
            rendered
                .warnings
                .iter()
                .any(|w| w.contains("only some of the")),
            "{:?}",
            rendered.warnings
        );
    }
}

#[test]
fn many_names_stay_linear() {
    // 8000 operations sharing one operationId, each under its own tag; one operation with
    // 8000 parameters; an AsyncAPI 3 document with 8000 channels and operations. Quadratic
    // bookkeeping (id suffixes, tag grouping, parameter merging, channel lookup) would show.
    let n = 8000;
    let mut paths = Vec::new();
    for i in 0..n {
        paths.push(format!(
            "\"/p{i}\": {{\"get\": {{\"operationId\": \"same\", \"tags\": [\"t{i}\"], \"responses\": {{}}}}}}"
        ));
    }
    let params: Vec<String> = (0..n)
        .map(|i| format!("{{\"name\": \"q{i}\", \"in\": \"query\"}}"))
        .collect();
    paths.push(format!(
        "\"/wide\": {{\"parameters\": [{}], \"get\": {{\"parameters\": [{}]}}}}",
        params.join(","),
        params.join(",")
    ));
    let openapi = format!(
        "{{\"openapi\": \"3.0.0\", \"paths\": {{{}}}}}",
        paths.join(",")
    );
    let channels: Vec<String> = (0..n)
        .map(|i| format!("\"c{i}\": {{\"address\": \"a{i}\"}}"))
        .collect();
    let operations: Vec<String> = (0..n)
        .map(|i| {
            format!(
                "\"o{i}\": {{\"action\": \"send\", \"channel\": {{\"$ref\": \"#/channels/c{}\"}}}}",
                (i * 7) % n
            )
        })
        .collect();
    let asyncapi = format!(
        "{{\"asyncapi\": \"3.0.0\", \"channels\": {{{}}}, \"operations\": {{{}}}}}",
        channels.join(","),
        operations.join(",")
    );
    let started = Instant::now();
    let rendered = render("openapi", &openapi);
    assert_eq!(rendered.summary.operations, n + 1);
    assert!(rendered.html.contains("id=\"op-same-8000\""));
    let rendered = render("asyncapi", &asyncapi);
    assert_eq!(
        (rendered.summary.channels, rendered.summary.operations),
        (n, n)
    );
    let elapsed = started.elapsed();
    assert!(elapsed < Duration::from_secs(20), "{elapsed:?}");
}

/// An OpenAPI document of at least `size` bytes shaped like a real one: tagged operations
/// with descriptions, shared parameters, request and response bodies referencing a few dozen
/// schemas that reference each other.
fn realistic_openapi(size: usize) -> String {
    let mut components = String::from(
        "components:\n  parameters:\n    Page: {name: page, in: query, schema: {type: integer, minimum: 1}}\n  schemas:\n",
    );
    for s in 0..60 {
        components.push_str(&format!(
            "    Model{s}:\n      type: object\n      required: [id]\n      properties:\n"
        ));
        for p in 0..18 {
            let property = match p % 6 {
                0 => "{type: string, format: uuid}".to_owned(),
                1 => format!("{{$ref: '#/components/schemas/Model{}'}}", (s + 1) % 60),
                2 => "{type: array, items: {type: string}}".to_owned(),
                3 => "{type: string, enum: [alpha, beta, gamma, delta]}".to_owned(),
                4 => format!(
                    "{{type: array, items: {{$ref: '#/components/schemas/Model{}'}}}}",
                    (s + 7) % 60
                ),
                _ => "{type: integer, minimum: 0, description: A counter that only grows.}"
                    .to_owned(),
            };
            let name = if p == 0 {
                "id".to_owned()
            } else {
                format!("field{p}")
            };
            components.push_str(&format!("        {name}: {property}\n"));
        }
    }
    let mut spec = String::from("openapi: 3.0.3\ninfo: {title: Big, version: '1'}\npaths:\n");
    let mut n = 0;
    while spec.len() + components.len() < size {
        let model = n % 60;
        spec.push_str(&format!(
            "  /area{}/things{n}/{{id}}:\n    parameters:\n      - {{name: id, in: path, required: true, schema: {{type: string}}}}\n    get:\n      tags: [area{}]\n      operationId: getThing{n}\n      summary: Read thing {n}\n      description: |\n        Reads one thing of kind {n} with everything hanging off it. Callers need the\n        read scope; results are cached for a minute and carry an ETag.\n      parameters:\n        - $ref: '#/components/parameters/Page'\n        - {{name: expand, in: query, schema: {{type: array, items: {{type: string, enum: [owner, history]}}}}}}\n      responses:\n        '200':\n          description: The thing.\n          content:\n            application/json:\n              schema: {{$ref: '#/components/schemas/Model{model}'}}\n        '404': {{description: No such thing.}}\n    put:\n      tags: [area{}]\n      operationId: putThing{n}\n      requestBody:\n        content:\n          application/json:\n            schema: {{$ref: '#/components/schemas/Model{model}'}}\n      responses:\n        '204': {{description: Stored.}}\n",
            n % 20,
            n % 20,
            n % 20
        ));
        n += 1;
    }
    spec.push_str(&components);
    spec
}

/// At least `size` bytes of operations that are nothing but a path, a parameter and a
/// reference to one large recursive schema.
fn tiny_operations_openapi(size: usize) -> String {
    let mut spec = String::from("openapi: 3.0.3\ninfo: {title: Big, version: '1'}\npaths:\n");
    let mut n = 0;
    while spec.len() < size * 4 / 5 {
        spec.push_str(&format!(
            "  /things/{n}/{{id}}:\n    get:\n      operationId: getThing{n}\n      parameters:\n        - {{name: id, in: path, required: true, schema: {{type: string}}}}\n      responses:\n        '200':\n          description: The thing.\n          content:\n            application/json:\n              schema: {{$ref: '#/components/schemas/Thing'}}\n"
        ));
        n += 1;
    }
    spec.push_str("components:\n  schemas:\n    Thing:\n      type: object\n      properties:\n");
    let mut p = 0;
    while spec.len() < size {
        spec.push_str(&format!(
            "        p{p}:\n          type: object\n          description: Property number {p} of the thing.\n          properties:\n            inner: {{type: string}}\n            next: {{$ref: '#/components/schemas/Thing'}}\n"
        ));
        p += 1;
    }
    spec
}

#[test]
fn highlighting_two_megabytes_is_linear() {
    let yaml_unit = "key: value # comment\nlist:\n  - 'quoted ''x'''\n  - \"dq \\\" x\"\n  - 12.5e3\nblock: |\n  text: not a key\n  more\nanchor: &a {x: [1, 2, null, true]}\nalias: *a\n";
    let json_unit = "{\"key\": [1, -2.5e3, true, null, \"s \\\" <x>\"], \"o\": {\"a\": {}}},\n";
    let graphql_unit = "\"\"\"doc\"\"\"\ntype Query implements Node & X { a(b: [Int!] = [1, 2]): [T!]! @d(r: \"x\") }\n# comment\nunion U = A | B\n";
    let proto_unit = "message M { repeated string a = 1; map<string, int32> m = 2; // c\n  .pkg.T t = 3 [deprecated = true]; }\n/* block */ service S { rpc R (stream A) returns (B); }\n";
    // 2 MiB of realistic text per language, and 1 MiB inputs made to break naive scanners
    // (unterminated constructs, one very long line) run through every highlighter.
    let adversarial = [
        "\"".repeat(1 << 20),
        "'".repeat(1 << 20),
        "a".repeat(1 << 20),
        ": ".repeat(1 << 19),
        "[{".repeat(1 << 19),
        "- ".repeat(1 << 19),
        "\"\"\"".repeat(350_000),
        "/*".repeat(1 << 19),
        "\\".repeat(1 << 20),
        " #".repeat(1 << 19),
    ];
    let mut inputs: Vec<(Language, String)> = vec![
        (
            Language::Yaml,
            yaml_unit.repeat((2 << 20) / yaml_unit.len()),
        ),
        (
            Language::Json,
            json_unit.repeat((2 << 20) / json_unit.len()),
        ),
        (
            Language::GraphQl,
            graphql_unit.repeat((2 << 20) / graphql_unit.len()),
        ),
        (
            Language::Protobuf,
            proto_unit.repeat((2 << 20) / proto_unit.len()),
        ),
    ];
    for text in &adversarial {
        for language in [
            Language::Yaml,
            Language::Json,
            Language::GraphQl,
            Language::Protobuf,
        ] {
            inputs.push((language, text.clone()));
        }
    }
    let mut slowest = Duration::ZERO;
    for (language, text) in &inputs {
        assert!(text.len() >= 1_000_000);
        let started = Instant::now();
        let html = highlight(*language, text);
        let elapsed = started.elapsed();
        slowest = slowest.max(elapsed);
        // Quadratic behaviour at this size would take minutes; linear takes under a second.
        assert!(
            elapsed < Duration::from_secs(5),
            "{language} took {elapsed:?}"
        );
        assert!(html.len() >= text.len());
    }
    eprintln!(
        "slowest 2 MB highlight: {slowest:?} over {} inputs",
        inputs.len()
    );
}
