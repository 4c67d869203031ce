DROP TABLE records;
DROP TABLE bundles;
