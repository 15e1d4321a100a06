DROP FUNCTION touch_updated_at();
