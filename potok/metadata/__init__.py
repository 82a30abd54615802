"""The configuration model: what business users describe in the designers.

Owns: the JSON Schemas of metadata objects (streams, card layouts, dictionaries, routes,
reports, rules, web forms), their typed model, the versioned store (draft, published,
history), configuration-folder import and export, the compiler from streams to SQL tables,
the schema-evolution planner and the condition language.

May import: ``potok.platform``, ``potok.settings``, ``potok.errors``. Must stay pure where it
can: validation, conditions and planning take data and return data.
"""
