"""Where Tern keeps state: one DynamoDB table, and manifests of members in S3.

Key design of the table (PK, SK), every partition key scoped by org:

    segment            ORG#<org>                     SEGMENT#<segment id>
    member             ORG#<org>#MEMBERS#<segment>   <contact id>                   (current members only)
    history row        ORG#<org>#HISTORY#<segment>   <evaluated at, ISO>#<evaluation id>

A segment item holds its record as JSON in `body`, with `version` beside it for conditional writes.
Member items are written only for the difference between two evaluations, so a refresh costs what changed.
"""
