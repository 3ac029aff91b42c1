<?php
/* fpm lab: a fatal error before any output: PHP writes the message to
 * FastCGI stderr (log_errors on, display_errors off) and answers 500 */
lab_no_such_function();
