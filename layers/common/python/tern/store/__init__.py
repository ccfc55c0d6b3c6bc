"""Where Tern keeps state: one DynamoDB table (tern.aws.dynamodb.Table), and Parquet in the lake bucket.

This package holds what several domains share: versioned records (tern.store.records), the overlay of
contact changes (tern.store.overlay) and the writer of the events Tern produces (tern.store.events). Each
domain keeps its own repositories beside its models (tern.segments.repository, tern.journeys.repository,
tern.journeys.engagement, tern.exports.repository, tern.lists.repository).

Key design of the table (PK, SK), every partition key scoped by org:

    segment            ORG#<org>                     SEGMENT#<segment id>
    static list        ORG#<org>                     LIST#<list id>
    member             ORG#<org>#MEMBERS#<segment>   <contact id>                   (current members only)
    history row        ORG#<org>#HISTORY#<segment>   <evaluated at, ISO>#<evaluation id>

Journeys and content are laid out in tern.journeys.repository, the engagement state journeys run on
(messages sent, waiting task tokens, events seen, suppression) in tern.journeys.engagement; Powertools
Idempotency keeps its records under PK IDEMPOTENCY#journey-step. Exports, actions, webhook destinations and
planned jobs are laid out in tern.exports.repository, consent changes in tern.store.overlay. A segment item
holds its record as JSON in `body`, with `version` beside it for conditional writes. Member items are
written only for the difference between two evaluations, so a refresh costs what changed.
Manifests (one per evaluation, tern.segments.manifests) and static lists are Parquet in the lake bucket:

    memberships/org_id=<org>/segment_id=<segment>/evaluation_id=<evaluation>/members.parquet
    lists/org_id=<org>/list_id=<list>/list.parquet
"""
