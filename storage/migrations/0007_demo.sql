-- The playground's demo people (make run without a token seeds them). Everything that hangs
-- off these ids — their user rows, memberships, roster slots, subscriptions and the cases of
-- demo residents — is demo data: `daasao demo remove` deletes exactly that.
CREATE TABLE demo_people (
    user_id  INTEGER PRIMARY KEY,
    role     TEXT NOT NULL CHECK (role IN ('resident', 'mediator', 'head', 'adviser', 'staff')),
    added_at TEXT NOT NULL
);
