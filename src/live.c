typedef int rd_live_placeholder_;
