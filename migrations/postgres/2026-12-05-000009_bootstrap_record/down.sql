DROP TABLE bootstrap_records;
