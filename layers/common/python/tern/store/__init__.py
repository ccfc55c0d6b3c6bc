"""Where Tern keeps state: one DynamoDB table, and Parquet manifests of members in the lake.

Key design of the table (PK, SK), every partition key scoped by org:

    segment            ORG#<org>                     SEGMENT#<segment id>
    static list        ORG#<org>                     LIST#<list id>
    member             ORG#<org>#MEMBERS#<segment>   <contact id>                   (current members only)
    history row        ORG#<org>#HISTORY#<segment>   <evaluated at, ISO>#<evaluation id>

Journeys, content and the engagement state journeys run on (messages sent, waiting task tokens, events
seen, suppression, who entered) are laid out in tern.store.journeys; Powertools Idempotency keeps its
records under PK IDEMPOTENCY#journey-step. Exports, actions, webhook destinations and planned jobs are laid
out in tern.store.jobs, consent changes in tern.store.overlay. A segment item holds its record as JSON in `body`, with `version` beside it for conditional writes.
Member items are written only for the difference between two evaluations, so a refresh costs what changed.
Manifests (one per evaluation) and static lists are Parquet in the lake bucket (tern.store.manifests):

    memberships/org_id=<org>/segment_id=<segment>/evaluation_id=<evaluation>/members.parquet
    lists/org_id=<org>/list_id=<list>/list.parquet
"""
