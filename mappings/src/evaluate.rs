//! Evaluating the ordered list of mappings of a source, merging each result.

use crate::context::{PreparedGroupContext, PreparedUserContext};
use crate::engine::{Mapping, MappingEngine, ScriptResult};
use crate::error::{ErrorKind, MappingError};
use crate::outcome::{Denial, Evaluation, GroupOutcome, LogEntry, UserOutcome};
use crate::properties::{GroupProperties, UserProperties};
use crate::schema::{self, MappingKind};
use crate::working::Working;
use rhai::{Dynamic, Map, Scope};

/// Result of running the list on one object, before conversion to the typed outcome.
enum ListResult {
    Done(Working),
    Skipped(String, Working),
    Denied(Denial),
}

impl MappingEngine {
    /// Runs the user `mappings` in order, starting from `base` (the source's base properties),
    /// each seeing in `properties` what the earlier ones produced.
    pub fn evaluate_user(
        &self,
        mappings: &[Mapping],
        context: &mut PreparedUserContext,
        base: UserProperties,
    ) -> Evaluation<UserOutcome> {
        let mut logs = Vec::new();
        let working = Working::from_user(base);
        // The group list is moved into the scope for the whole list and moved back afterwards:
        // the array is a constant (no push, no element assignment) of immutable objects.
        let mut scope = Scope::new();
        scope.push_constant_dynamic("groups", std::mem::take(&mut context.groups));
        let result = self.evaluate_list(
            MappingKind::User,
            mappings,
            &mut scope,
            &context.small,
            working,
            &mut logs,
        );
        scope.rewind(1);
        context.groups = scope.remove::<Dynamic>("groups").unwrap_or(Dynamic::UNIT);
        let result = result.map(|outcome| match outcome {
            ListResult::Done(working) => UserOutcome::Mapped(working.into_user()),
            ListResult::Denied(denial) => UserOutcome::Denied(denial),
            // Not produced for user mappings, where `()` means "no change".
            ListResult::Skipped(_, working) => UserOutcome::Mapped(working.into_user()),
        });
        Evaluation { result, logs }
    }

    /// Runs the group `mappings` in order for one group, starting from `base` (normally
    /// `name` = the group's `displayName`). A mapping returning `()` skips the group.
    pub fn evaluate_group(
        &self,
        mappings: &[Mapping],
        context: &mut PreparedGroupContext,
        base: GroupProperties,
    ) -> Evaluation<GroupOutcome> {
        let mut logs = Vec::new();
        let working = Working::from_group(&base);
        let mut scope = Scope::new();
        let result = self
            .evaluate_list(
                MappingKind::Group,
                mappings,
                &mut scope,
                &context.small,
                working,
                &mut logs,
            )
            .map(|outcome| match outcome {
                ListResult::Done(working) => GroupOutcome::Mapped(working.into_group()),
                ListResult::Skipped(mapping, _) => GroupOutcome::Skipped { mapping },
                ListResult::Denied(denial) => GroupOutcome::Denied(denial),
            });
        Evaluation { result, logs }
    }

    fn evaluate_list(
        &self,
        kind: MappingKind,
        mappings: &[Mapping],
        scope: &mut Scope<'static>,
        fresh: &[(&'static str, Dynamic)],
        mut working: Working,
        logs: &mut Vec<LogEntry>,
    ) -> Result<ListResult, MappingError> {
        let context_len = scope.len();
        for mapping in mappings {
            let ast = self.compiled(&mapping.name, &mapping.expression)?;
            // Fresh copies for every mapping: Rhai lets a script add keys to a constant map, so
            // what one script does to these must not reach the next one (or the merge).
            for (name, value) in fresh {
                scope.push_constant_dynamic(*name, value.clone());
            }
            // A script can only refer to `properties` by that name (no `eval`): skip building it
            // when the text does not mention it.
            if mapping.expression.contains("properties") {
                scope.push_constant_dynamic("properties", working.properties_value());
            }
            let result = self.run(&mapping.name, &ast, scope, logs);
            scope.rewind(context_len);
            match result? {
                ScriptResult::Denied(message) => {
                    return Ok(ListResult::Denied(Denial {
                        mapping: mapping.name.clone(),
                        message,
                    }));
                }
                ScriptResult::Value(value) if value.is_unit() => {
                    if kind == MappingKind::Group {
                        return Ok(ListResult::Skipped(mapping.name.clone(), working));
                    }
                }
                ScriptResult::Value(value) => match value.try_cast_result::<Map>() {
                    Ok(map) => schema::merge(kind, &mapping.name, &mut working, map)?,
                    Err(other) => {
                        return Err(MappingError::new(
                            &mapping.name,
                            ErrorKind::Type,
                            format!(
                                "a property mapping must return a map (#{{ ... }}) or (), got {}",
                                other.type_name()
                            ),
                        ));
                    }
                },
            }
        }
        Ok(ListResult::Done(working))
    }
}
