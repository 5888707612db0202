-- A member's data is every row of every table with a user_id column, found from the schema, so a
-- table added later is forgotten and exported without anyone updating a list.
CREATE OR REPLACE FUNCTION member_tables() RETURNS SETOF text LANGUAGE sql STABLE AS $$
    SELECT c.table_name::text
      FROM information_schema.columns c
      JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name
     WHERE c.table_schema = current_schema() AND c.column_name = 'user_id' AND t.table_type = 'BASE TABLE'
     ORDER BY 1
$$;

CREATE OR REPLACE FUNCTION forget_member(uid bigint) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
    t text;
    n bigint;
    deleted jsonb := '{}';
BEGIN
    FOR t IN SELECT member_tables() LOOP
        EXECUTE format('DELETE FROM %I WHERE user_id = $1', t) USING uid;
        GET DIAGNOSTICS n = ROW_COUNT;
        deleted := deleted || jsonb_build_object(t, n);
    END LOOP;
    RETURN deleted;
END
$$;

CREATE OR REPLACE FUNCTION export_member(uid bigint) RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
DECLARE
    t text;
    found jsonb;
    document jsonb := '{}';
BEGIN
    FOR t IN SELECT member_tables() LOOP
        EXECUTE format('SELECT coalesce(jsonb_agg(to_jsonb(x)), ''[]''::jsonb) FROM %I x WHERE user_id = $1', t)
           INTO found USING uid;
        document := document || jsonb_build_object(t, found);
    END LOOP;
    RETURN document;
END
$$;

CREATE OR REPLACE FUNCTION member_row_count(uid bigint) RETURNS bigint LANGUAGE plpgsql STABLE AS $$
DECLARE
    t text;
    n bigint;
    total bigint := 0;
BEGIN
    FOR t IN SELECT member_tables() LOOP
        EXECUTE format('SELECT count(*) FROM %I WHERE user_id = $1', t) INTO n USING uid;
        total := total + n;
    END LOOP;
    RETURN total;
END
$$;
