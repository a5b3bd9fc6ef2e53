//! The pest parser generated from `grammar/tenet.pest`. Only `parse/` may name it.

#[derive(pest_derive::Parser)]
#[grammar = "../grammar/tenet.pest"]
pub(super) struct TenetParser;

/// A human name for a grammar rule, used in "expected …" messages.
pub(super) fn rule_name(rule: Rule) -> Option<&'static str> {
    Some(match rule {
        Rule::EOI => "end of input",
        Rule::expr | Rule::expr_only | Rule::template_expr => "an expression",
        Rule::ident => "a name",
        Rule::field_name => "a field name",
        Rule::string => "a string",
        Rule::cmp_op => "a comparison",
        Rule::add_op | Rule::mul_op => "an operator",
        Rule::kw_requires => "`requires`",
        Rule::kw_or => "`or`",
        Rule::kw_and => "`and`",
        Rule::kw_where => "`where`",
        Rule::kw_as => "`as`",
        Rule::kw_when => "`when`",
        Rule::kw_policy => "`policy`",
        Rule::kw_rule => "`rule`",
        Rule::kw_let => "`let`",
        Rule::annotation => "an annotation",
        Rule::policy_decl => "`policy \"NAME\"`",
        Rule::param_decl => "a parameter",
        Rule::let_decl => "a `let`",
        Rule::rule_decl => "a rule",
        Rule::quant_tail => "`:`",
        Rule::dot_field => "`.field`",
        Rule::index => "`[index]`",
        Rule::guard => "`when`",
        Rule::binder => "`as NAME`",
        Rule::not_op => "`not`",
        Rule::neg_op => "`-`",
        Rule::datetime | Rule::date | Rule::duration | Rule::decimal | Rule::integer => "a literal",
        _ => return None,
    })
}
