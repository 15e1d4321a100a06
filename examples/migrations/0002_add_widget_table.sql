-- migr:revision 0002_add_widget_table
-- migr:down_revision 0001_initial_schema
-- migr:message add widget table

-- migr:upgrade
CREATE TABLE widgets (
    id       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    owner_id bigint NOT NULL REFERENCES users,
    name     text NOT NULL
);
CREATE INDEX widgets_owner ON widgets (owner_id);

-- migr:downgrade
DROP TABLE widgets;
