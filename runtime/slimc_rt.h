/* placeholder: replaced by the C backend */
