import Surety
