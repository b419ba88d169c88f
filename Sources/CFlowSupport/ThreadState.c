#include "CFlowSupport.h"
#include <string.h>

static _Thread_local char last_error_buffer[1024];
static _Thread_local int no_grad_depth;

void cflow_set_last_error(const char *message) {
    if (message == NULL) { last_error_buffer[0] = '\0'; return; }
    size_t n = strlen(message);
    if (n > sizeof(last_error_buffer) - 1) n = sizeof(last_error_buffer) - 1;
    memcpy(last_error_buffer, message, n);
    last_error_buffer[n] = '\0';
}

const char *cflow_last_error(void) { return last_error_buffer; }

int cflow_no_grad_depth(void) { return no_grad_depth; }
void cflow_set_no_grad_depth(int depth) { no_grad_depth = depth; }
