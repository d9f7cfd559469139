-- weft PostgreSQL schema, version 7: long Append chains folded into packs.
--
-- A list that grows every superstep is an Append chain of one row per
-- superstep, all of which a read of the head returns. Past a length, the
-- insert of the chain's next link folds the chain into one row, a pack:
-- the value checkpoint.AppendPack writes (a format byte, a uvarint count,
-- then per blob its uvarint version, varint base, uvarint length and
-- data), so a read of the head reads a bounded number of rows and every
-- element is still stored once.
--
-- pack_from is NULL for a plain row. A pack row sits at the version P of
-- the commit that folded it, with root P (a pack starts a chain: blobs
-- appended later to any of its entries get root P), base 0, and pack_from
-- the lowest version of its entries. No other row of its (thread_id,
-- namespace, field) has a version in [pack_from, P): the row of a
-- version w of a field is the first row at or above w, either w itself
-- or a pack with pack_from <= w (which holds w, or nothing at w).
-- Existing rows stay plain: a chain written at version 6 folds the next
-- time it grows.
ALTER TABLE {{schema}}.blobs ADD COLUMN pack_from bigint;

-- pack_uvarint is encoding/binary.AppendUvarint of x read as an unsigned
-- 64-bit integer.
CREATE FUNCTION {{schema}}.pack_uvarint(x bigint) RETURNS bytea
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS
$fn$
DECLARE
	buf bytea := ''::bytea;
BEGIN
	WHILE x < 0 OR x >= 128 LOOP
		buf := buf || set_byte('\x00'::bytea, 0, ((x & 127) | 128)::integer);
		x := (x >> 7) & 144115188075855871; -- 2^57 - 1: a logical shift
	END LOOP;
	RETURN buf || set_byte('\x00'::bytea, 0, x::integer);
END
$fn$;

-- pack_entry is one blob as AppendPack writes it (base as a zigzag
-- varint, as encoding/binary.AppendVarint; NULL data as empty).
CREATE FUNCTION {{schema}}.pack_entry(version bigint, base bigint, data bytea) RETURNS bytea
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS
$fn$SELECT {{schema}}.pack_uvarint(version) || {{schema}}.pack_uvarint((base << 1) # (base >> 63))
	|| {{schema}}.pack_uvarint(coalesce(length(data), 0)) || coalesce(data, ''::bytea)$fn$;

-- pack_header reads the head of a pack: the count n of its blobs and the
-- size in bytes of the format byte and the count; NULLs if data does not
-- start as a pack does. It reads the first bytes only.
CREATE FUNCTION {{schema}}.pack_header(data bytea, OUT n bigint, OUT size integer)
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS
$fn$
DECLARE
	head bytea := substring(data FROM 1 FOR 11);
	b integer;
	shift integer := 0;
	i integer := 1;
BEGIN
	IF length(head) < 2 OR get_byte(head, 0) <> 1 THEN
		RETURN;
	END IF;
	n := 0;
	LOOP
		IF i >= length(head) OR shift > 56 THEN
			n := NULL;
			RETURN;
		END IF;
		b := get_byte(head, i);
		n := n | ((b & 127)::bigint << shift);
		i := i + 1;
		EXIT WHEN b < 128;
		shift := shift + 7;
	END LOOP;
	size := i;
END
$fn$;

-- pack_has reports whether the pack data holds a blob at version v: the
-- check of a commit with VerifyBlobs that names a version inside a pack.
-- A malformed pack holds nothing.
CREATE FUNCTION {{schema}}.pack_has(data bytea, v bigint) RETURNS boolean
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS
$fn$
DECLARE
	d bytea := data || ''::bytea; -- detoasted once
	size integer := length(d);
	h record := {{schema}}.pack_header(d);
	i integer;
	x bigint;
	b integer;
	shift integer;
	version bigint;
BEGIN
	IF h.n IS NULL THEN
		RETURN false;
	END IF;
	i := h.size;
	FOR e IN 1..h.n LOOP
		-- version, base, length: three uvarints
		FOR k IN 1..3 LOOP
			x := 0;
			shift := 0;
			LOOP
				IF i >= size OR shift > 63 THEN
					RETURN false;
				END IF;
				b := get_byte(d, i);
				x := x | ((b & 127)::bigint << shift);
				i := i + 1;
				EXIT WHEN b < 128;
				shift := shift + 7;
			END LOOP;
			IF k = 1 THEN
				version := x;
			END IF;
		END LOOP;
		IF version = v THEN
			RETURN true;
		ELSIF version > v OR x < 0 OR x > size - i THEN
			RETURN false;
		END IF;
		i := i + x::integer;
	END LOOP;
	RETURN false;
END
$fn$;

-- fold_blobs, before the insert of an Append blob at version v whose root
-- R is at least 64 versions older (the trigger's condition), folds the
-- rows of its field from R up into the new row, which becomes a pack: the
-- rows with versions in [lo, v), where lo starts at R and goes down to the
-- lowest root among them until none is lower (so that every chain of a
-- folded row is in the pack: a fork of an older chain has an older root),
-- packs among them expanded. The commit's version check has locked the
-- thread row, so v is the thread's newest version and no row of the field
-- is above it. It folds only when at least 32 rows would go (a blob whose
-- base is not stored keeps the base as its root, and must not fold at
-- every commit), and leaves a range with a malformed pack as it is (reads
-- report it). A fold costs one read of the rows' bytes and one write of
-- the pack; a commit that does not fold pays for none of it (the WHEN
-- condition is checked without calling the function).
CREATE FUNCTION {{schema}}.fold_blobs() RETURNS trigger
LANGUAGE plpgsql AS
$fn$
DECLARE
	lo bigint := NEW.root;
	low bigint;
	nrows bigint;
	ok boolean;
	n bigint;
	lowest bigint;
	body bytea;
BEGIN
	LOOP
		SELECT min(b.root), count(*) INTO low, nrows FROM {{schema}}.blobs b
		WHERE b.thread_id = NEW.thread_id AND b.namespace = NEW.namespace AND b.field = NEW.field
			AND b.version >= lo AND b.version < NEW.version;
		EXIT WHEN low IS NULL OR low >= lo;
		lo := low;
	END LOOP;
	IF nrows < 32 THEN
		RETURN NEW;
	END IF;
	SELECT bool_and(b.pack_from IS NULL OR h.n IS NOT NULL), sum(CASE WHEN b.pack_from IS NULL THEN 1 ELSE h.n END),
		min(coalesce(b.pack_from, b.version)),
		string_agg(CASE WHEN b.pack_from IS NULL THEN {{schema}}.pack_entry(b.version, b.base, b.data)
			ELSE substring(b.data FROM h.size + 1) END, ''::bytea ORDER BY b.version)
	INTO ok, n, lowest, body
	FROM {{schema}}.blobs b
	LEFT JOIN LATERAL {{schema}}.pack_header(CASE WHEN b.pack_from IS NOT NULL THEN b.data END) h ON true
	WHERE b.thread_id = NEW.thread_id AND b.namespace = NEW.namespace AND b.field = NEW.field
		AND b.version >= lo AND b.version < NEW.version;
	IF NOT ok THEN
		RETURN NEW;
	END IF;
	DELETE FROM {{schema}}.blobs b
	WHERE b.thread_id = NEW.thread_id AND b.namespace = NEW.namespace AND b.field = NEW.field
		AND b.version >= lo AND b.version < NEW.version;
	NEW.data := '\x01'::bytea || {{schema}}.pack_uvarint(n + 1) || body || {{schema}}.pack_entry(NEW.version, NEW.base, NEW.data);
	NEW.pack_from := least(lowest, NEW.version);
	NEW.root := NEW.version;
	NEW.base := 0;
	RETURN NEW;
END
$fn$;

CREATE TRIGGER blobs_fold BEFORE INSERT ON {{schema}}.blobs
FOR EACH ROW
WHEN (NEW.pack_from IS NULL AND NEW.base > 0 AND NEW.base < NEW.version AND NEW.version - NEW.root >= 64)
EXECUTE FUNCTION {{schema}}.fold_blobs();
