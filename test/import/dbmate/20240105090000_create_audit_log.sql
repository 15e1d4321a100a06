-- migrate:up
CREATE TABLE audit_log (
    id bigserial PRIMARY KEY,
    at timestamptz NOT NULL DEFAULT now(),
    who text NOT NULL DEFAULT current_user,
    what jsonb NOT NULL
);

-- migrate:down
DROP TABLE audit_log;
