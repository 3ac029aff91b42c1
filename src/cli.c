typedef int rd_cli_placeholder_;
