use super::{first_form, form_action, hidden_inputs};

const PAGE: &str = r#"<p>x</p><form method="post" action="/sites/acme/login?a=1&amp;b=2">
    <input type="hidden" name="flow" value="abc">
    <input type="hidden" name="csrf_token" value="a&amp;b&quot;c&#x27;d&lt;&gt;&#x2F;">
    <input type="text" name="login" value="">
    <input type="hidden" name="no-value">
    </form><form action="/other"><input type="hidden" name="second" value="1"></form>"#;

#[test]
fn the_first_forms_action_is_unescaped() {
    assert_eq!(
        form_action(PAGE).as_deref(),
        Some("/sites/acme/login?a=1&b=2")
    );
    assert_eq!(form_action("<p>no form</p>"), None);
    assert_eq!(form_action(r#"<form method="post">"#), None);
}

#[test]
fn hidden_inputs_of_the_first_form_only_and_only_with_name_and_value() {
    assert_eq!(
        hidden_inputs(first_form(PAGE)),
        vec![
            ("flow".to_owned(), "abc".to_owned()),
            ("csrf_token".to_owned(), "a&b\"c'd<>/".to_owned()),
        ]
    );
    // The whole page: the second form's field too.
    assert_eq!(hidden_inputs(PAGE).len(), 3);
    // No form: the whole page is searched.
    assert_eq!(first_form("<p>no form</p>"), "<p>no form</p>");
}

#[test]
fn an_attribute_is_found_only_by_its_whole_name() {
    let tag = r#"<input data-name="x" data-value="y" type="hidden" name="flow" value="abc">"#;
    assert_eq!(
        hidden_inputs(tag),
        vec![("flow".to_owned(), "abc".to_owned())]
    );
    let button = "<form\n  formaction=\"/wrong\"\n  action=\"/right\">";
    assert_eq!(form_action(button).as_deref(), Some("/right"));
}
