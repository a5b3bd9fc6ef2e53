# The six-rule benchmark workload (issue 4) in Rego (v1 syntax), for regorus; the same
# rules as six-rules.tenet. `violations` is a set of {"tenant", "rule", "id"} objects.
# Defaults follow the erp model: multiple_sessions, 2fa false; session_cap 1; lists [].
package sixrules

# R1 each role: multiple_sessions requires 2fa.
violations contains {"tenant": input.id, "rule": "r1_multi_session_requires_2fa", "id": role.id} if {
	some role in input.roles
	object.get(role, "multiple_sessions", false) == true
	object.get(role, "2fa", false) != true
}

# R2 each user: at most 3 sessions.
violations contains {"tenant": input.id, "rule": "r2_session_cap", "id": user.id} if {
	some user in input.users
	count(object.get(user, "sessions", [])) > 3
}

# R3 each integration: at most 5 certificates with status active or revoked.
violations contains {"tenant": input.id, "rule": "r3_cert_cap", "id": integ.id} if {
	some integ in input.integrations
	counted := [c | some c in object.get(integ, "certificates", []); c.status in {"active", "revoked"}]
	count(counted) > 5
}

# R4 the tenant: plan.seats >= sum of the users' session caps.
violations contains {"tenant": input.id, "rule": "r4_seats_cover_session_caps", "id": input.id} if {
	caps := [object.get(user, "session_cap", 1) | some user in input.users]
	input.plan.seats < sum(caps)
}

# R5 each integration: no Basic authentication.
violations contains {"tenant": input.id, "rule": "r5_no_basic_auth", "id": integ.id} if {
	some integ in input.integrations
	integ.auth_method == "basic"
}

# R6 each user with more than one session: every referenced role allows multiple sessions.
roles_by_id := {role.id: role | some role in input.roles}

violations contains {"tenant": input.id, "rule": "r6_multi_session_roles", "id": user.id} if {
	some user in input.users
	count(object.get(user, "sessions", [])) > 1
	some rid in object.get(user, "roles", [])
	object.get(object.get(roles_by_id, rid, {}), "multiple_sessions", false) != true
}
